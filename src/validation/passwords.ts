import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, passwordLength } from '../auth/passwords.ts';
import { textField } from './forms.ts';

/**
 * A password being chosen: 12 to 128 characters of anything, spaces and emoji included, with no
 * composition rules (ASVS 6.2.1, 6.2.5, 6.2.9). Never trimmed: the spaces are part of it.
 */
export function newPasswordField(label = 'Password') {
  return textField(label, {
    max: 4096,
    trim: false,
    required: `Enter a ${label.toLowerCase()}.`,
  }).superRefine((password, ctx) => {
    const length = passwordLength(password);
    if (length < PASSWORD_MIN_LENGTH) {
      ctx.addIssue({
        code: 'custom',
        message: `${label} must be at least ${PASSWORD_MIN_LENGTH} characters.`,
      });
    } else if (length > PASSWORD_MAX_LENGTH) {
      ctx.addIssue({
        code: 'custom',
        message: `${label} must be at most ${PASSWORD_MAX_LENGTH} characters.`,
      });
    }
  });
}

/** A password being checked: any stored one is at most 128 characters, so longer cannot match. */
export function currentPasswordField(label = 'Password') {
  return textField(label, {
    max: 4096,
    trim: false,
    required: `Enter your ${label.toLowerCase()}.`,
  }).refine(
    (password) => passwordLength(password) <= PASSWORD_MAX_LENGTH,
    `${label} must be at most ${PASSWORD_MAX_LENGTH} characters.`,
  );
}
