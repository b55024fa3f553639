/** The gate behind Debian's nginx (auth_request), from proxy/nginx.conf.template. */
import { proxyScenarios } from './scenarios.ts';

proxyScenarios('nginx');
