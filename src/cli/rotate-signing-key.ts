/**
 * `npm run rotate-signing-key`: a new current OpenID signing key. The previous one stays in the
 * JWKS (verifying, no longer signing) until the ID tokens it signed have expired, then the next
 * rotation or the prune job drops it. Running instances pick the new key up within a minute.
 */
import { OIDC_LIMITS } from '../auth/limits.ts';
import { rotateSigningKey } from '../auth/oidc-keys.ts';
import { withDatabase } from './shared.ts';

const rotation = await withDatabase((db, config) =>
  rotateSigningKey(db, config.totpKeys, new Date(), OIDC_LIMITS.idTokenSeconds * 1000),
);
console.log(
  `New signing key ${rotation.kid}. ${rotation.retired.length ? `Key ${rotation.retired.join(', ')} still verifies for ${OIDC_LIMITS.idTokenSeconds / 60} minutes` : 'There was no key before'}${rotation.dropped.length ? `; dropped ${rotation.dropped.join(', ')}` : ''}.`,
);
