// Login: password, then a TOTP code; at first login, enrolment (QR code and the secret as text)
// confirmed by the first code. The session ends up in HttpOnly cookies, never in this script.
import { api } from './api.ts';
import { byId, clearError, showError, takeCode } from './dom.ts';

interface LoginAnswer {
  mfaToken: string;
  next: 'enrol' | 'verify';
}
interface Enrolment {
  otpauthUri: string;
  secret: string;
  qrCodeSvg: string;
}

const passwordForm = byId<HTMLFormElement>('password-form');
const codeForm = byId<HTMLFormElement>('code-form');
let mfaToken = '';

function svgAsImage(svg: string): string {
  return `data:image/svg+xml;base64,${btoa(svg)}`;
}

passwordForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError(passwordForm);
  const data = new FormData(passwordForm);
  try {
    const answer = await api<LoginAnswer>('POST', '/api/v1/auth/login', {
      username: String(data.get('username')),
      password: String(data.get('password')),
    });
    mfaToken = answer.mfaToken;
    if (answer.next === 'enrol') {
      const enrolment = await api<Enrolment>('POST', '/api/v1/auth/mfa/enrol', { mfaToken });
      byId<HTMLImageElement>('qr').src = svgAsImage(enrolment.qrCodeSvg);
      byId('secret').textContent = enrolment.secret.replace(/(.{4})/g, '$1 ').trim();
      byId('secret').dataset.secret = enrolment.secret;
      byId('enrol').hidden = false;
      byId('code-legend').textContent = 'Confirm with the first code your app shows';
    }
    passwordForm.hidden = true;
    codeForm.hidden = false;
    (codeForm.elements.namedItem('code') as HTMLInputElement).focus();
  } catch (error) {
    showError(passwordForm, error);
  }
});

codeForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearError(codeForm);
  try {
    await api('POST', '/api/v1/auth/mfa/verify', { mfaToken, code: takeCode(codeForm), session: 'cookie' });
    location.assign('/app/');
  } catch (error) {
    showError(codeForm, error);
  }
});
