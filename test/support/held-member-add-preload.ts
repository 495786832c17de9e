// Loaded with `node --import` into a child Stint process: holds the add of the member named by
// HOLD_MEMBER_DN_FOR_TEST forever (the test kills the process) and says so on stderr.
import { holdMemberAdd } from './held-member-add.ts';

const dn = process.env.HOLD_MEMBER_DN_FOR_TEST;
if (dn) {
  const hold = holdMemberAdd(dn);
  void hold.held.then(() => process.stderr.write('test hold: member add applied and held\n'));
}
