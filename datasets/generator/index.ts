export type { Catalog, Sku, Supplier } from './catalog.js';
export {
  DEFAULT_GENERATOR_OPTIONS,
  GeneratorOptionError,
  type GeneratorOptions,
  parseMix,
  resolveGeneratorOptions,
} from './options.js';
export { emptyCounts, type GeneratorCounts, type GeneratorOutput, simulateInventory } from './simulate.js';
export {
  ANOMALY_TYPES,
  type AnomalyLabel,
  type AnomalyType,
  type InventoryLogRow,
  type RawInventoryRecord,
  type SalesOrderEvent,
  type SupplierLine,
  type SupplierRecord,
} from './wire-formats.js';
export { type DatasetFile, type DatasetManifest, type WriteProgress, writeDataset } from './write.js';
