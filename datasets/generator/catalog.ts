/** The simulated business: warehouses, suppliers and SKUs, drawn once from the seed. */
import type { Rng } from '../../detectors/random.js';

const WAREHOUSE_CODES = ['EAST', 'WEST', 'CENTRAL', 'NORTH', 'SOUTH', 'GULF', 'LAKES', 'MOUNTAIN'];
const SUPPLIER_NAMES = [
  'Acme Housewares',
  'Blue Ridge Supply',
  'Cedar & Pine Goods',
  'Delta Home Imports',
  'Evergreen Textiles',
  'Fulton Electronics',
  'Granite Kitchenware',
  'Harbor Toys',
  'Ironwood Tools',
  'Juniper Beauty',
];

export interface Supplier {
  id: string;
  name: string;
  /** Mean lead time from purchase order to delivery, in days. */
  leadDays: number;
}

export interface Sku {
  id: string;
  supplier: number;
  /** Eaches per case; 1 means the supplier sells eaches. */
  casePack: number;
  /** Unit cost of one each, USD. */
  cost: number;
  /** Shelf price of one each, USD. */
  price: number;
}

export interface Catalog {
  warehouses: string[];
  suppliers: Supplier[];
  skus: Sku[];
}

/** A standard normal draw (Box–Muller; one of the pair is discarded to keep the stream simple). */
export function normal(rng: Rng): number {
  const u = 1 - rng.nextFloat();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
}

export function uniform(rng: Rng, a: number, b: number): number {
  return a + (b - a) * rng.nextFloat();
}

/** Poisson draw: Knuth's product method for small means, a rounded normal above 30. */
export function poisson(rng: Rng, lambda: number): number {
  if (lambda <= 0) return 0;
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(rng)));
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = rng.nextFloat();
  while (p > limit) {
    k++;
    p *= rng.nextFloat();
  }
  return k;
}

export const cents = (x: number): number => Math.round(x * 100) / 100;

export function buildCatalog(rng: Rng, skuCount: number, warehouseCount: number): Catalog {
  const warehouses = Array.from({ length: warehouseCount }, (_, w) =>
    w < WAREHOUSE_CODES.length ? `WH-${WAREHOUSE_CODES[w]}` : `WH-${String(w + 1).padStart(2, '0')}`,
  );
  const supplierCount = Math.max(3, Math.ceil(skuCount / 25));
  const suppliers = Array.from({ length: supplierCount }, (_, k) => ({
    id: `SUP-${String(k + 1).padStart(3, '0')}`,
    name:
      k < SUPPLIER_NAMES.length
        ? SUPPLIER_NAMES[k]
        : `${SUPPLIER_NAMES[k % SUPPLIER_NAMES.length]} ${Math.floor(k / SUPPLIER_NAMES.length) + 1}`,
    leadDays: 2 + rng.nextInt(8),
  }));
  const packs = [1, 1, 6, 12, 12, 24];
  const skus = Array.from({ length: skuCount }, (_, i) => {
    const cost = cents(Math.exp(Math.log(8) + 0.9 * normal(rng)) + 0.5);
    return {
      id: `SKU-${String(i + 1).padStart(5, '0')}`,
      supplier: rng.nextInt(supplierCount),
      casePack: packs[rng.nextInt(packs.length)],
      cost,
      price: cents(cost * uniform(rng, 1.4, 2.2)),
    };
  });
  return { warehouses, suppliers, skus };
}
