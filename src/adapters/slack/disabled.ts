// What stands behind the Notifications port when slack.enabled is false: notices are dropped here,
// deliberately, because there is no one to send them to. Nothing is queued and nothing pretends to
// have been sent; the store and the audit log still record every change.
import type { Notifications } from '../../services/ports/notifications.ts';

export const notificationsWithSlackOff: Notifications = {
  async publish() {
    // Slack is turned off in the configuration: these notices have nowhere to go.
  },
};
