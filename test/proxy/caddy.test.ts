/** The gate behind Debian's Caddy (forward_auth), from proxy/Caddyfile.template. */
import { proxyScenarios } from './scenarios.ts';

proxyScenarios('caddy');
