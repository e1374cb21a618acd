import { defineGatewaySuite } from './gateway-suite.js';

defineGatewaySuite('pglite');
