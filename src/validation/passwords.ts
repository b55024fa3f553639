import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordLength } from '../auth/passwords.ts';
import { textField } from './forms.ts';
import { en } from '../messages/index.ts';

/**
 * A password being chosen: 12 to 128 characters of anything, spaces and emoji included, with no
 * composition rules (ASVS 6.2.1, 6.2.5, 6.2.9). Never trimmed: the spaces are part of it.
 */
export function newPasswordField(label = 'Password') {
  return textField(label, {
    max: 4096,
    trim: false,
    required: en.forms.enterNewPassword(label),
  }).superRefine((password, ctx) => {
    const length = passwordLength(password);
    if (length < PASSWORD_MIN_LENGTH) {
      ctx.addIssue({
        code: 'custom',
        message: en.forms.tooShort(label, PASSWORD_MIN_LENGTH),
      });
    } else if (length > PASSWORD_MAX_LENGTH) {
      ctx.addIssue({ code: 'custom', message: en.forms.tooLong(label, PASSWORD_MAX_LENGTH) });
    }
  });
}

/** A password being checked: any stored one is at most 128 characters, so longer cannot match. */
export function currentPasswordField(label = 'Password') {
  return textField(label, {
    max: 4096,
    trim: false,
    required: en.forms.enterCurrentPassword(label),
  }).refine(
    (password) => passwordLength(password) <= PASSWORD_MAX_LENGTH,
    en.forms.tooLong(label, PASSWORD_MAX_LENGTH),
  );
}
