/** What a form field says when what was sent cannot be used (validation/). */
export const forms = {
  sentTwice: (label: string) => `${label} was sent more than once. Fill it in once and try again.`,
  unreadable: (label: string) => `${label} could not be read. Type it again.`,
  badCharacters: (label: string) =>
    `${label} contains characters that cannot be used. Type it again.`,
  tooLong: (label: string, max: number) => `${label} must be at most ${max} characters.`,
  tooShort: (label: string, min: number) => `${label} must be at least ${min} characters.`,
  oneOf: (label: string, values: readonly string[]) =>
    `${label} must be one of: ${values.filter(Boolean).join(', ')}.`,
  enterEmail: () => 'Enter your email address.',
  emailShape: () => 'Enter an email address like name@example.com.',
  asciiEmail: () => 'Use an address written with the letters a to z, digits and punctuation only.',
  enterNewPassword: (label: string) => `Enter a ${label.toLowerCase()}.`,
  enterCurrentPassword: (label: string) => `Enter your ${label.toLowerCase()}.`,
  enterCode: () => 'Enter the code.',
  enterCodeOrRecoveryCode: () => 'Enter a code from your app or a recovery code.',
  typeNewPasswordAgain: () => 'Type the new password again.',
  typePasswordAgain: () => 'Type the password again.',
  newPasswordsDiffer: () => 'The two new passwords do not match.',
  passwordsDiffer: () => 'The two passwords do not match.',
  sameAsCurrent: () => 'Choose a password different from the current one.',
  chooseSession: () => 'Choose a session to end.',
  chooseBrowser: () => 'Choose a browser to forget.',
  setupLinkIncomplete: () => 'This setup link is incomplete.',
  linkIncomplete: () => 'This link is incomplete. Open it again from your mail.',
} as const;
