import { defineGatewaySuite } from './fixtures/gateway-suite.js';

defineGatewaySuite('postgres');
