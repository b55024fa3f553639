import { renderTemplate } from './proxies.ts';

/** The README's proxy snippets: the tests' templates, rendered with the README's example values. */
export function readmeSnippets(): { nginx: string; caddy: string } {
  return {
    nginx: renderTemplate('nginx.conf.template', {
      KEYGATE: '127.0.0.1:3000',
      LISTEN:
        '    listen 443 ssl;\n    ssl_certificate /etc/ssl/example.com.pem;\n    ssl_certificate_key /etc/ssl/example.com.key;',
      AUTH_HOST: 'auth.example.com',
      APP_HOST: 'wiki.example.com',
      APP_UPSTREAM: '127.0.0.1:8080',
    }),
    caddy: renderTemplate('Caddyfile.template', {
      AUTH_SITE: 'auth.example.com',
      APP_SITE: 'wiki.example.com',
      KEYGATE: '127.0.0.1:3000',
      APP_UPSTREAM: '127.0.0.1:8080',
    }),
  };
}
