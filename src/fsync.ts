/**
 * fsync of a file or a directory by path: a file's bytes before it is renamed into place, and the
 * directory after the rename, so the new name survives a crash too.
 */
import { open } from 'node:fs/promises'

export async function fsyncPath(p: string): Promise<void> {
  const h = await open(p, 'r')
  try {
    await h.sync()
  } finally {
    await h.close()
  }
}
