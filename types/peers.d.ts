// Type declarations for the two npm peers we benchmark against; neither ships its own.

declare module 'ml-isolation-forest' {
  export class IsolationForest {
    constructor(options?: { nEstimators?: number });
    train(X: number[][]): void;
    predict(X: number[][]): number[];
  }
}

declare module 'density-clustering' {
  export class DBSCAN {
    constructor();
    run(dataset: number[][], epsilon: number, minPts: number): number[][];
    noise: number[];
  }
}

declare module 'kinesalite' {
  import type { Server } from 'node:http';

  interface KinesaliteOptions {
    createStreamMs?: number;
    deleteStreamMs?: number;
    updateStreamMs?: number;
    shardLimit?: number;
    path?: string;
  }
  function kinesalite(options?: KinesaliteOptions): Server;
  export default kinesalite;
}
