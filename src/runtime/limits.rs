//! What a guest may take from the host: linear memory and table elements summed over the
//! whole store, and fixed counts of instances, tables and memories. wasmtime's own
//! `StoreLimits` bounds each memory and each table on its own (eight 64 MiB memories pass a
//! 64 MiB limit) and tables not at all unless asked, so the store is given this limiter.

use super::Limits;
use wasmtime::ResourceLimiter;

/// Core instances one store may create (a component's modules, shims and adapters; real
/// components have a few dozen at most).
pub const MAX_INSTANCES: usize = 1000;
/// Tables one store may create.
pub const MAX_TABLES: usize = 1000;
/// Linear memories one store may create (each reserves address space, whatever its size).
pub const MAX_MEMORIES: usize = 100;

/// A limit of ours that a guest ran into. Returned from the limiter, it traps the guest,
/// and the trap's error carries it, so the report names the limit without parsing text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitHit {
    /// Growing (or creating) a linear memory would take the store's memories past the limit.
    #[error(
        "the guest tried to grow its linear memory to {} MiB in all, beyond the {} MiB limit (--max-memory)",
        wanted.div_ceil(1 << 20),
        limit >> 20
    )]
    Memory {
        /// Bytes all memories would hold together.
        wanted: usize,
        /// `--max-memory`, in bytes.
        limit: usize,
    },
    /// Growing (or creating) a table would take the store's tables past the limit.
    #[error(
        "the guest tried to grow its tables to {wanted} elements in all, beyond the limit of {limit} (--max-table-elements)"
    )]
    TableElements {
        /// Elements all tables would hold together.
        wanted: usize,
        /// `--max-table-elements`.
        limit: usize,
    },
}

/// The store's [`ResourceLimiter`]: the sums of memory bytes and table elements over every
/// memory and table of the store, checked at each growth (creation counts as growth from
/// zero). Going past a limit traps; growing past the guest's own declared maximum fails
/// as the specification says (`memory.grow` and `table.grow` return -1).
#[derive(Debug, Clone)]
pub struct GuestLimiter {
    max_memory_bytes: usize,
    max_table_elements: usize,
    memory_bytes: usize,
    table_elements: usize,
}

impl GuestLimiter {
    pub fn new(limits: &Limits) -> GuestLimiter {
        GuestLimiter {
            max_memory_bytes: limits.max_memory_bytes,
            max_table_elements: limits.max_table_elements,
            memory_bytes: 0,
            table_elements: 0,
        }
    }
}

/// The store's sum after one of its parts goes from `current` to `desired`.
fn regrown(sum: usize, current: usize, desired: usize) -> usize {
    sum.saturating_sub(current).saturating_add(desired)
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let wanted = regrown(self.memory_bytes, current, desired);
        if wanted > self.max_memory_bytes {
            return Err(wasmtime::Error::new(LimitHit::Memory { wanted, limit: self.max_memory_bytes }));
        }
        // Counted before wasmtime grows it: a growth that then fails (the system refused
        // the pages) stays counted, which errs on the side of the host.
        self.memory_bytes = wanted;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        Ok(())
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|max| desired > max) {
            return Ok(false);
        }
        let wanted = regrown(self.table_elements, current, desired);
        if wanted > self.max_table_elements {
            return Err(wasmtime::Error::new(LimitHit::TableElements { wanted, limit: self.max_table_elements }));
        }
        self.table_elements = wanted;
        Ok(true)
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        Ok(())
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(memory: usize, elements: usize) -> GuestLimiter {
        GuestLimiter::new(&Limits { max_memory_bytes: memory, max_table_elements: elements, ..Limits::default() })
    }

    #[test]
    fn memory_is_limited_in_sum_over_the_stores_memories() {
        let mut l = limiter(64 << 20, 10);
        assert!(l.memory_growing(0, 32 << 20, None).unwrap());
        assert!(l.memory_growing(0, 16 << 20, None).unwrap());
        // The first memory grows by 16 MiB: 64 MiB in all, at the limit.
        assert!(l.memory_growing(32 << 20, 48 << 20, None).unwrap());
        let hit = l.memory_growing(0, 64 << 10, None).unwrap_err();
        assert_eq!(hit.downcast_ref::<LimitHit>(), Some(&LimitHit::Memory { wanted: (64 << 20) + (64 << 10), limit: 64 << 20 }));
        assert!(hit.to_string().contains("65 MiB in all, beyond the 64 MiB limit (--max-memory)"), "{hit}");
    }

    #[test]
    fn table_elements_are_limited_in_sum_over_the_stores_tables() {
        let mut l = limiter(1 << 30, 10);
        assert!(l.table_growing(0, 6, None).unwrap());
        assert!(l.table_growing(0, 4, None).unwrap());
        let hit = l.table_growing(4, 5, None).unwrap_err();
        assert_eq!(hit.downcast_ref::<LimitHit>(), Some(&LimitHit::TableElements { wanted: 11, limit: 10 }));
        assert!(hit.to_string().contains("(--max-table-elements)"), "{hit}");
    }

    #[test]
    fn growing_past_the_guests_own_maximum_fails_without_a_trap() {
        let mut l = limiter(1 << 30, 10);
        assert!(!l.memory_growing(0, 2 << 16, Some(1 << 16)).unwrap());
        assert!(!l.table_growing(0, 3, Some(2)).unwrap());
        // Nothing was counted.
        assert!(l.table_growing(0, 10, None).unwrap());
    }
}
