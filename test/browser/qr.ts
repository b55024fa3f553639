import jsqr from 'jsqr';
import { PNG } from 'pngjs';
import type { Page } from 'playwright-core';
import { rememberSecret } from '../helpers/secrets.ts';

// jsqr is CommonJS with an ES-style default export: under Node's ESM loader the function is both
// the module and its `default`.
const jsQR = (jsqr as unknown as { default: typeof jsqr.default }).default;

/**
 * Reads the QR code on the page the way a phone camera would: from the pixels on screen, not from
 * the page's text. Returns the TOTP secret from the otpauth:// URI it holds.
 */
export async function scanQrCode(page: Page): Promise<{ uri: string; secret: string }> {
  const image = PNG.sync.read(await page.locator('img.qr').screenshot());
  const found = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
  if (!found) throw new Error('no QR code could be read from the screen');
  const uri = new URL(found.data);
  const secret = uri.searchParams.get('secret');
  if (uri.protocol !== 'otpauth:' || !secret) throw new Error(`not an otpauth URI: ${found.data}`);
  rememberSecret('totp secret', secret);
  return { uri: found.data, secret };
}
