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
