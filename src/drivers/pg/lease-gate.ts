/** The lease gate is shared by the pg and mysql2 drivers; it lives in drivers/common/. */
export { createLeaseGate, type LeaseGate, type Release } from '../common/lease-gate.js';
