//! Guest memory: a 32-bit address space of 4 KiB pages, each inaccessible,
//! read-only or writable (GP 0.7.2 §4.8.1, `μ`).
//!
//! Accessible memory is a handful of contiguous regions (a standard program
//! has four: read-only data, read-write data and heap, stack, arguments), so
//! an access is a scan of at most a few region bounds, then a slice index.

use std::cell::Cell;

use crate::blob::{PAGE_SIZE, ZONE_SIZE};

pub use braid_pvm_program::AccessFault;

#[derive(Clone, Debug)]
struct Region {
    start: u32,
    /// Exclusive end, as u64 so a region may end at 2^32.
    end: u64,
    writable: bool,
    data: Vec<u8>,
}

impl Region {
    /// The `N` bytes at guest `address`, if they are all in this region.
    /// Below the region's start the offset wraps past any region's length,
    /// so one bound check covers both ends.
    #[inline(always)]
    fn bytes<const N: usize>(&self, address: u32) -> Option<&[u8; N]> {
        let at = address.wrapping_sub(self.start) as usize;
        self.data.get(at..at + N)?.first_chunk::<N>()
    }

    /// As [`Region::bytes`], writable.
    #[inline(always)]
    fn bytes_mut<const N: usize>(&mut self, address: u32) -> Option<&mut [u8; N]> {
        let at = address.wrapping_sub(self.start) as usize;
        self.data.get_mut(at..at + N)?.first_chunk_mut::<N>()
    }
}

/// The guest's memory.
#[derive(Clone, Debug, Default)]
pub struct Memory {
    regions: Vec<Region>,
    /// The region the last access hit, tried first: a guest's accesses
    /// cluster (the stack, one buffer), so this skips the scan.
    last: Cell<usize>,
    /// The region hit before `last`, tried second: code that moves data
    /// between two regions (a hash's state on the stack and its input)
    /// alternates between them.
    prev: Cell<usize>,
}

impl Memory {
    /// Memory with no accessible page.
    pub fn new() -> Memory {
        Memory::default()
    }

    /// Makes `[start, start + len)` accessible (zero-filled), merging with an
    /// adjacent region of the same access. `start` and `len` are rounded out
    /// to whole pages. Overlapping an existing region is a caller bug and
    /// only that region's access is kept for the overlap.
    pub fn map(&mut self, start: u32, len: u64, writable: bool) {
        if len == 0 {
            return;
        }
        let page = u64::from(PAGE_SIZE);
        let lo = u64::from(start) / page * page;
        let hi = (u64::from(start) + len).div_ceil(page) * page;
        let hi = hi.min(1 << 32);
        for r in &mut self.regions {
            if r.writable == writable && r.end == lo {
                r.end = hi;
                r.data.resize((hi - u64::from(r.start)) as usize, 0);
                return;
            }
        }
        self.regions.push(Region {
            start: lo as u32,
            end: hi,
            writable,
            data: vec![0; (hi - lo) as usize],
        });
        self.regions.sort_by_key(|r| r.start);
    }

    /// Writes `bytes` at `address` regardless of access (program loading).
    /// Bytes that land outside every region are dropped.
    pub fn init(&mut self, address: u32, bytes: &[u8]) {
        for (i, &b) in bytes.iter().enumerate() {
            let a = u64::from(address) + i as u64;
            if let Some(r) = self
                .regions
                .iter_mut()
                .find(|r| u64::from(r.start) <= a && a < r.end)
            {
                r.data[(a - u64::from(r.start)) as usize] = b;
            }
        }
    }

    /// The end (exclusive) of the region starting at or containing `address`.
    pub fn region_end(&self, address: u32) -> Option<u64> {
        self.find(address, 1).map(|i| self.regions[i].end)
    }

    /// Region `i` was hit: it becomes `last`, and `last` becomes `prev`.
    #[inline(always)]
    fn hit(&self, i: usize) {
        let last = self.last.replace(i);
        if last != i {
            self.prev.set(last);
        }
    }

    #[inline(always)]
    fn find(&self, address: u32, len: u32) -> Option<usize> {
        let end = u64::from(address) + u64::from(len);
        let last = self.last.get();
        if let Some(r) = self.regions.get(last)
            && r.start <= address
            && end <= r.end
        {
            return Some(last);
        }
        let i = self
            .regions
            .iter()
            .position(|r| r.start <= address && end <= r.end)?;
        self.hit(i);
        Some(i)
    }

    /// The fault for an access of `len` bytes at `address` that did not fit
    /// one region: the lowest inaccessible (or, for a write, read-only)
    /// byte. `Page(u32::MAX)` means every byte is accessible, across
    /// regions. Walks regions, not bytes: O(regions).
    #[cold]
    fn fault(&self, address: u32, len: u32, write: bool) -> AccessFault {
        let mut a = u64::from(address);
        let end = a + u64::from(len.max(1));
        if end > 1 << 32 {
            // Addresses are taken mod 2^32: the access touches address 0,
            // which is below 64 KiB and never accessible (GP: panic).
            return AccessFault::Panic;
        }
        while a < end {
            let region = self
                .regions
                .iter()
                .find(|r| u64::from(r.start) <= a && a < r.end && (r.writable || !write));
            match region {
                Some(r) => a = r.end,
                None => {
                    let a = a.min(u64::from(u32::MAX)) as u32;
                    if a < ZONE_SIZE {
                        return AccessFault::Panic;
                    }
                    return AccessFault::Page(a / PAGE_SIZE * PAGE_SIZE);
                }
            }
        }
        AccessFault::Page(u32::MAX)
    }

    /// Reads `N` bytes at `address`.
    ///
    /// # Errors
    /// The [`AccessFault`] of the first inaccessible byte.
    #[inline(always)]
    pub fn read<const N: usize>(&self, address: u32) -> Result<[u8; N], AccessFault> {
        match self.read_last(address) {
            Some(bytes) => Ok(bytes),
            None => self.read_scan(address),
        }
    }

    /// The `N` bytes at `address` if the region of the last access, or the
    /// one before it, holds them all: the interpreter's inline path, one
    /// bound check per region tried.
    #[inline(always)]
    pub(crate) fn read_last<const N: usize>(&self, address: u32) -> Option<[u8; N]> {
        let last = self.last.get();
        if let Some(r) = self.regions.get(last)
            && let Some(bytes) = r.bytes::<N>(address)
        {
            return Some(*bytes);
        }
        let prev = self.prev.get();
        let bytes = *self.regions.get(prev)?.bytes::<N>(address)?;
        self.hit(prev);
        Some(bytes)
    }

    /// [`Memory::read`] when neither of the last two regions holds the
    /// bytes: the other regions, then the cross-region and fault path.
    #[inline(never)]
    pub(crate) fn read_scan<const N: usize>(&self, address: u32) -> Result<[u8; N], AccessFault> {
        for (i, r) in self.regions.iter().enumerate() {
            if let Some(bytes) = r.bytes::<N>(address) {
                self.hit(i);
                return Ok(*bytes);
            }
        }
        let mut out = [0u8; N];
        self.read_slow(address, &mut out)?;
        Ok(out)
    }

    /// Writes `bytes` at `address`.
    ///
    /// # Errors
    /// The [`AccessFault`] of the first inaccessible or read-only byte;
    /// nothing is written then.
    #[inline(always)]
    pub fn write(&mut self, address: u32, bytes: &[u8]) -> Result<(), AccessFault> {
        if let Some(i) = self.find(address, bytes.len() as u32) {
            let r = &mut self.regions[i];
            if r.writable {
                let at = (address - r.start) as usize;
                r.data[at..at + bytes.len()].copy_from_slice(bytes);
                return Ok(());
            }
        }
        self.write_slow(address, bytes)
    }

    /// Writes `bytes` at `address` if the region of the last access, or
    /// the one before it, is writable and holds them all; whether it did.
    #[inline(always)]
    pub(crate) fn write_last<const N: usize>(&mut self, address: u32, bytes: [u8; N]) -> bool {
        let last = self.last.get();
        if let Some(r) = self.regions.get_mut(last)
            && r.writable
            && let Some(at) = r.bytes_mut::<N>(address)
        {
            *at = bytes;
            return true;
        }
        let prev = self.prev.get();
        if let Some(r) = self.regions.get_mut(prev)
            && r.writable
            && let Some(at) = r.bytes_mut::<N>(address)
        {
            *at = bytes;
            self.hit(prev);
            return true;
        }
        false
    }

    /// Copies `out.len()` bytes at `address` into `out`, across regions.
    ///
    /// # Errors
    /// As [`Memory::read`].
    pub fn read_slow(&self, address: u32, out: &mut [u8]) -> Result<(), AccessFault> {
        let len = u32::try_from(out.len()).unwrap_or(u32::MAX);
        if let Some(i) = self.find(address, len) {
            let r = &self.regions[i];
            let at = (address - r.start) as usize;
            out.copy_from_slice(&r.data[at..at + out.len()]);
            return Ok(());
        }
        match self.fault(address, len, false) {
            AccessFault::Page(u32::MAX) => {
                for (i, byte) in out.iter_mut().enumerate() {
                    let a = address + i as u32;
                    let r = &self.regions[self.find(a, 1).expect("checked accessible")];
                    *byte = r.data[(a - r.start) as usize];
                }
                Ok(())
            }
            fault => Err(fault),
        }
    }

    #[cold]
    fn write_slow(&mut self, address: u32, bytes: &[u8]) -> Result<(), AccessFault> {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        match self.fault(address, len, true) {
            AccessFault::Page(u32::MAX) => {
                for (i, &byte) in bytes.iter().enumerate() {
                    let a = address + i as u32;
                    let index = self.find(a, 1).expect("checked accessible");
                    let r = &mut self.regions[index];
                    r.data[(a - r.start) as usize] = byte;
                }
                Ok(())
            }
            fault => Err(fault),
        }
    }

    /// A copy of `len` bytes at `address`.
    ///
    /// # Errors
    /// As [`Memory::read`].
    pub fn read_vec(&self, address: u32, len: u32) -> Result<Vec<u8>, AccessFault> {
        // Check before allocating: `len` may come from a guest register.
        self.check_readable(address, len)?;
        let mut out = vec![0u8; len as usize];
        if len > 0 {
            self.read_slow(address, &mut out)?;
        }
        Ok(out)
    }

    /// Checks that `[address, address + len)` is readable, without reading.
    ///
    /// # Errors
    /// As [`Memory::read`].
    pub fn check_readable(&self, address: u32, len: u32) -> Result<(), AccessFault> {
        if len == 0 || self.find(address, len).is_some() {
            return Ok(());
        }
        match self.fault(address, len, false) {
            AccessFault::Page(u32::MAX) => Ok(()),
            fault => Err(fault),
        }
    }

    /// Checks that `[address, address + len)` is writable, without writing.
    ///
    /// # Errors
    /// As [`Memory::write`].
    pub fn check_writable(&self, address: u32, len: u32) -> Result<(), AccessFault> {
        if len == 0 {
            return Ok(());
        }
        if let Some(i) = self.find(address, len)
            && self.regions[i].writable
        {
            return Ok(());
        }
        match self.fault(address, len, true) {
            AccessFault::Page(u32::MAX) => Ok(()),
            fault => Err(fault),
        }
    }

    /// Every accessible page as `(address, writable, bytes)`, in address order.
    pub fn pages(&self) -> impl Iterator<Item = (u32, bool, &[u8])> {
        self.regions.iter().flat_map(|r| {
            r.data
                .chunks(PAGE_SIZE as usize)
                .enumerate()
                .map(move |(i, page)| (r.start + i as u32 * PAGE_SIZE, r.writable, page))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_fault_at_the_first_bad_page() {
        let mut m = Memory::new();
        m.map(0x20000, 0x1000, true);
        m.map(0x21000, 0x1000, false);
        assert!(m.write(0x20ffc, &[1; 4]).is_ok());
        assert_eq!(m.write(0x20ffe, &[1; 4]), Err(AccessFault::Page(0x21000)));
        // The failed write changed nothing.
        assert_eq!(m.read::<4>(0x20ffc), Ok([1, 1, 1, 1]));
        // Reads may span the two regions.
        assert_eq!(m.read::<4>(0x20ffe), Ok([1, 1, 0, 0]));
        assert_eq!(m.read::<8>(0x21ffc), Err(AccessFault::Page(0x22000)));
        assert_eq!(m.read::<1>(0x100), Err(AccessFault::Panic));
        // Wrapping past 2^32 reaches address 0: a panic.
        assert_eq!(m.read::<4>(u32::MAX - 1), Err(AccessFault::Panic));
    }
}
