/** Errors the WebGPU executor reports: a kernel the driver rejected, a lost device. */

/** WebGPU rejected a kernel's WGSL (or the pipeline built from it); `wgsl` is the whole source. */
export class WgslKernelError extends Error {
  constructor(
    readonly label: string,
    readonly detail: string,
    readonly wgsl: string,
  ) {
    const head = wgsl
      .split("\n")
      .slice(0, 12)
      .map((l, k) => `${String(k + 1).padStart(4)} | ${l}`)
      .join("\n");
    super(`WebGPU rejected the WGSL of the ${label}: ${detail}\nfirst lines of the kernel:\n${head}`);
    this.name = "WgslKernelError";
  }
}

/** The GPU device was lost (driver reset, destroyed): arrays on it are gone and calls fail. */
export class DeviceLostError extends Error {
  constructor(
    readonly deviceId: string,
    readonly reason: string,
    readonly detail: string,
  ) {
    super(
      `${deviceId} was lost (${reason}${detail ? `: ${detail}` : ""}); its arrays are gone: ` +
        "call `await init()` again to get a new device",
    );
    this.name = "DeviceLostError";
  }
}
