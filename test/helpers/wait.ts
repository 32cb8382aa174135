/**
 * Runs `probe` until it resolves and returns its value, retrying every `intervalMs` after a
 * rejection. Rejects with the last error once `seconds` have passed.
 */
export async function eventually<T>(seconds: number, probe: () => Promise<T>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}
