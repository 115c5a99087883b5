/**
 * A new folder under the system's temporary directory, removed after the test file
 * (support/jest-cleanup.ts) or, outside jest (the soak), when the process exits — not sooner:
 * a test may start a second collector over the first one's home and spool.
 */
export declare function temporaryDir(prefix: string): string;
export declare function removeTemporaryDirs(): void;
