import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  formatRecoveryCode,
  generateRecoveryCode,
  parseRecoveryCode,
} from '../../src/auth/recovery-codes.ts';
import { parseTotpCode } from '../../src/auth/totp.ts';
import { safeReturnPath } from '../../src/validation/forms.ts';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

describe('parsers, for any input (fast-check)', () => {
  it('when any string is parsed as a TOTP code, then the result is null or exactly six ASCII digits', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (input) => {
        const code = parseTotpCode(input);
        return code === null || /^[0-9]{6}$/.test(code);
      }),
      { numRuns: 2000 },
    );
  });

  it('when six digits are typed with any spacing, then they parse to themselves', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{6}$/),
        fc.array(fc.constantFrom(' ', '\t'), { maxLength: 4 }),
        fc.nat(6),
        (digits, spaces, at) => {
          const typed = digits.slice(0, at) + spaces.join('') + digits.slice(at);
          return parseTotpCode(typed) === digits;
        },
      ),
    );
  });

  it('when any string is parsed as a recovery code, then the result is null or 16 Crockford symbols', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 64 }), (input) => {
        const code = parseRecoveryCode(input);
        return (
          code === null || (code.length === 16 && [...code].every((c) => CROCKFORD.includes(c)))
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('when a generated code is shown and retyped loosely, then it parses back to itself', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom('', ' ', '-', '  '),
        (lower, keepHyphens, separator) => {
          const code = generateRecoveryCode();
          let typed = formatRecoveryCode(code);
          if (!keepHyphens) typed = typed.replace(/-/g, separator);
          if (lower) typed = typed.toLowerCase();
          return parseRecoveryCode(typed) === code;
        },
      ),
      { numRuns: 500 },
    );
  });

  it('when any string is offered as a return address, then the result is a path on this site', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 80 }), fc.webUrl(), fc.webPath()),
        (input) => {
          const path = safeReturnPath(input);
          const resolved = new URL(path, 'https://keygate.test');
          return (
            path.startsWith('/') &&
            !path.startsWith('//') &&
            !path.startsWith('/\\') &&
            resolved.host === 'keygate.test'
          );
        },
      ),
      { numRuns: 3000 },
    );
  });
});
