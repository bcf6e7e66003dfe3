//! Capabilities in the kernel (RFC 0010): slots, the pinned overlay, and the
//! cap operations behind the [`braid_core::Host`] cap methods.
//!
//! Every cap a slot receives is made here, from slot numbers and state the
//! kernel wrote: no operation takes cap bytes from an engine, so neither a
//! guest nor an engine can forge one (D2). Persistent slots are ordinary
//! keys of the instance (`0x04 ‖ 0x00 ‖ slot`), written for the running
//! invocation only and owned by it in the journal, so they commit on HALT
//! and vanish on a fault like any write. Content-addressed values (Data
//! bytes, images, cnodes, code) are stored once by hash under the system
//! engine and never deleted (D12).

use braid_core::cap::{CNodeValue, CapDecodeError, Image, MAX_DATA_SIZE, slot};
use braid_core::{
    Cap, CapRefusal, CapResult, CoreError, EngineId, Identity, Result, ScopeKind, StateKey,
    keccak256,
};

use crate::kernel::Kernel;
use crate::layout::{self, InstanceRecord};

/// `Err(refusal)` as the inner result of a cap operation.
fn refuse<T>(refusal: CapRefusal) -> Result<CapResult<T>> {
    Ok(Err(refusal))
}

/// A stored value a cap names is missing or does not decode: corrupt state.
fn corrupt(key: StateKey, what: &'static str) -> CoreError {
    CoreError::CorruptCap {
        key,
        source: CapDecodeError { what, at: 0 },
    }
}

impl Kernel<'_, '_> {
    /// The stack index of the running invocation, which must be of an
    /// instance-scoped engine (the EVM has no caps).
    fn caps_frame(&self) -> Result<usize> {
        let frame = self.top()?;
        if frame.scope != ScopeKind::Instance {
            return Err(CoreError::CapsUnsupported {
                engine: frame.engine,
            });
        }
        Ok(self.running)
    }

    /// The cap in `slot` of the invocation at stack index `index`.
    pub(crate) fn slot_of(&mut self, index: usize, slot: u8) -> Result<Option<Cap>> {
        if slot == slot::SCRATCH {
            return Ok(self.invocation(index)?.scratch);
        }
        if slot::EPHEMERAL.contains(&slot) {
            let frame = self.invocation(index)?;
            let i = usize::from(slot - slot::EPHEMERAL.start());
            return Ok(frame.ephemeral.as_ref().and_then(|e| e[i]));
        }
        if let Some(cap) = self.pinned(index, slot)? {
            return Ok(Some(cap));
        }
        let frame = self.invocation(index)?;
        let (engine, identity) = (frame.engine, frame.identity);
        let key = layout::slot_key(slot);
        let stored = self.layered_get_with(engine, &identity, &key, |v| v.map(Cap::decode))?;
        stored.transpose().map_err(|source| CoreError::CorruptCap {
            key: StateKey::new(engine, identity, key),
            source,
        })
    }

    /// The cap in `slot` of the running invocation.
    pub(crate) fn slot_get(&mut self, slot: u8) -> Result<Option<Cap>> {
        let index = self.caps_frame()?;
        self.slot_of(index, slot)
    }

    /// The cap pinned at `slot` by the image the invocation at `index` runs
    /// (read from its instance record once, on first use).
    fn pinned(&mut self, index: usize, slot: u8) -> Result<Option<Cap>> {
        if !slot::is_persistent(slot) {
            return Ok(None);
        }
        self.load_pinned(index)?;
        let frame = self.invocation(index)?;
        let pinned = frame.pinned.as_deref().unwrap_or_default();
        Ok(pinned
            .binary_search_by_key(&slot, |(s, _)| *s)
            .ok()
            .map(|i| pinned[i].1))
    }

    /// Loads the pinned overlay of the invocation at `index` from its
    /// instance record, unless it is loaded. The record can change during
    /// the invocation only through its own `set_image`, which loads the
    /// overlay first: the invocation keeps the overlay it started with.
    fn load_pinned(&mut self, index: usize) -> Result<()> {
        let frame = self.invocation(index)?;
        if frame.pinned.is_some() {
            return Ok(());
        }
        let (engine, identity) = (frame.engine, frame.identity);
        let pinned = match self.instance_record(engine, &identity)? {
            Some(InstanceRecord {
                image: Some((image_hash, _)),
                ..
            }) => self.load_image(&image_hash)?.pinned,
            _ => Vec::new(),
        };
        self.invocation_mut(index)?.pinned = Some(pinned);
        Ok(())
    }

    /// The stored image `hash`.
    fn load_image(&self, hash: &[u8; 32]) -> Result<Image> {
        let key = layout::system_key(layout::IMAGE, hash);
        let decoded = self.layered_get_with(key.engine, &key.identity, &key.engine_key, |v| {
            v.map(Image::decode)
        })?;
        match decoded {
            Some(Ok(image)) => Ok(image),
            Some(Err(source)) => Err(CoreError::CorruptCap { key, source }),
            None => Err(corrupt(key, "an Image cap names no stored image")),
        }
    }

    /// The stored cnode `hash`.
    fn load_cnode(&self, hash: &[u8; 32]) -> Result<CNodeValue> {
        let key = layout::system_key(layout::CNODE, hash);
        let decoded = self.layered_get_with(key.engine, &key.identity, &key.engine_key, |v| {
            v.map(CNodeValue::decode)
        })?;
        match decoded {
            Some(Ok(value)) => Ok(value),
            Some(Err(source)) => Err(CoreError::CorruptCap { key, source }),
            None => Err(corrupt(key, "a CNode cap names no stored cnode")),
        }
    }

    /// Whether `cap` may be written to `slot` of the invocation at `index`:
    /// not over a pinned slot, no YieldRef into a persistent slot.
    fn check_writable(&mut self, index: usize, slot: u8, cap: Option<&Cap>) -> Result<CapResult> {
        if slot::is_persistent(slot) {
            if self.pinned(index, slot)?.is_some() {
                return refuse(CapRefusal::Pinned);
            }
            if cap.is_some_and(|c| !c.is_persistable()) {
                return refuse(CapRefusal::NotPersistable);
            }
        }
        Ok(Ok(()))
    }

    /// Writes `cap` into `slot` of the running invocation, already checked
    /// with [`Kernel::check_writable`].
    fn slot_set(&mut self, slot: u8, cap: Option<Cap>) -> Result<()> {
        let index = self.running;
        if slot == slot::SCRATCH {
            self.invocation_mut(index)?.scratch = cap;
            return Ok(());
        }
        if slot::EPHEMERAL.contains(&slot) {
            let frame = self.invocation_mut(index)?;
            let i = usize::from(slot - slot::EPHEMERAL.start());
            frame.ephemeral.get_or_insert_with(Default::default)[i] = cap;
            return Ok(());
        }
        let frame = self.invocation(index)?;
        let key = StateKey::new(frame.engine, frame.identity, layout::slot_key(slot));
        match cap {
            Some(cap) => {
                let encoded = cap.encode().ok_or(CoreError::Invariant {
                    what: "a YieldRef reached a persistent slot",
                })?;
                self.kernel_write(&key, Some(encoded))
            }
            None if self.layered_contains(key.engine, &key.identity, &key.engine_key)? => {
                self.kernel_write(&key, None)
            }
            None => Ok(()),
        }
    }

    /// Checks, then writes, `cap` into `dst` of the running invocation.
    fn put(&mut self, dst: u8, cap: Cap) -> Result<CapResult> {
        let index = self.running;
        if let Err(refusal) = self.check_writable(index, dst, Some(&cap))? {
            return refuse(refusal);
        }
        self.slot_set(dst, Some(cap))?;
        Ok(Ok(()))
    }

    /// `slot_copy` (`clear_source` false) and `slot_move` (true).
    pub(crate) fn cap_copy(&mut self, src: u8, dst: u8, clear_source: bool) -> Result<CapResult> {
        let index = self.caps_frame()?;
        let Some(cap) = self.slot_of(index, src)? else {
            return refuse(CapRefusal::Empty);
        };
        if clear_source && self.pinned(index, src)?.is_some() {
            return refuse(CapRefusal::Pinned);
        }
        if let Err(refusal) = self.check_writable(index, dst, Some(&cap))? {
            return refuse(refusal);
        }
        if src == dst {
            return Ok(Ok(()));
        }
        self.slot_set(dst, Some(cap))?;
        if clear_source {
            self.slot_set(src, None)?;
        }
        Ok(Ok(()))
    }

    /// `slot_drop`.
    pub(crate) fn cap_drop(&mut self, slot: u8) -> Result<CapResult> {
        let index = self.caps_frame()?;
        if let Err(refusal) = self.check_writable(index, slot, None)? {
            return refuse(refusal);
        }
        self.slot_set(slot, None)?;
        Ok(Ok(()))
    }

    /// `data_mint`: `bytes` zero-padded to `size` (0: `bytes.len()`).
    pub(crate) fn cap_data_mint(&mut self, bytes: &[u8], size: u32, dst: u8) -> Result<CapResult> {
        self.caps_frame()?;
        let Ok(len) = u32::try_from(bytes.len()) else {
            return refuse(CapRefusal::TooLarge);
        };
        let size = if size == 0 { len } else { size };
        if len > MAX_DATA_SIZE || size > MAX_DATA_SIZE {
            return refuse(CapRefusal::TooLarge);
        }
        if size < len {
            return refuse(CapRefusal::BadArgument);
        }
        let stripped = strip_trailing_zeros(bytes);
        let hash = layout::blake2b_256(&[stripped]);
        let cap = Cap::Data { hash, size };
        if let Err(refusal) = self.check_writable(self.running, dst, Some(&cap))? {
            return refuse(refusal);
        }
        self.store_blob(&layout::system_key(layout::DATA, &hash), stripped)?;
        self.slot_set(dst, Some(cap))?;
        Ok(Ok(()))
    }

    /// `data_read`: lends the stored (stripped) bytes and the size.
    pub(crate) fn cap_data_read(
        &mut self,
        slot: u8,
        read: &mut dyn FnMut(&[u8], u32),
    ) -> Result<CapResult> {
        let (hash, size) = match self.slot_get(slot)? {
            Some(Cap::Data { hash, size }) => (hash, size),
            None => return refuse(CapRefusal::Empty),
            Some(_) => return refuse(CapRefusal::WrongKind),
        };
        let key = layout::system_key(layout::DATA, &hash);
        let found = self.layered_get_with(key.engine, &key.identity, &key.engine_key, |v| {
            v.map(|bytes| read(bytes, size)).is_some()
        })?;
        if !found {
            return Err(corrupt(key, "a Data cap names no stored bytes"));
        }
        Ok(Ok(()))
    }

    /// The bytes of a Data cap, padded to its size.
    fn data_bytes(&self, hash: &[u8; 32], size: u32) -> Result<Vec<u8>> {
        let key = layout::system_key(layout::DATA, hash);
        let Some(mut bytes) = self.layered_get(key.engine, &key.identity, &key.engine_key)? else {
            return Err(corrupt(key, "a Data cap names no stored bytes"));
        };
        bytes.resize(size as usize, 0);
        Ok(bytes)
    }

    /// `image_make`.
    pub(crate) fn cap_image_make(
        &mut self,
        code: u8,
        pinned: Option<u8>,
        dst: u8,
    ) -> Result<CapResult> {
        let index = self.caps_frame()?;
        let (hash, size) = match self.slot_of(index, code)? {
            Some(Cap::Data { hash, size }) => (hash, size),
            None => return refuse(CapRefusal::Empty),
            Some(_) => return refuse(CapRefusal::WrongKind),
        };
        let pinned = match pinned {
            None => Vec::new(),
            Some(slot) => match self.slot_of(index, slot)? {
                Some(Cap::CNode { hash }) => self.load_cnode(&hash)?.entries,
                None => return refuse(CapRefusal::Empty),
                Some(_) => return refuse(CapRefusal::WrongKind),
            },
        };
        if pinned.iter().any(|(s, _)| !slot::is_persistent(*s)) {
            return refuse(CapRefusal::BadArgument);
        }
        let code = self.data_bytes(&hash, size)?;
        let engine = self.invocation(index)?.engine;
        match self.engines.get(engine)?.validate(&code) {
            Ok(()) => {}
            Err(CoreError::InvalidCode { .. }) => return refuse(CapRefusal::InvalidCode),
            Err(e) => return Err(e),
        }
        let image = Image {
            engine,
            code_hash: keccak256(&code),
            pinned,
        };
        let encoded = image.encode();
        let image_hash = layout::image_hash(&encoded);
        let cap = Cap::Image { hash: image_hash };
        if let Err(refusal) = self.check_writable(index, dst, Some(&cap))? {
            return refuse(refusal);
        }
        self.store_blob(&StateKey::code(&image.code_hash), &code)?;
        self.store_blob(&layout::system_key(layout::IMAGE, &image_hash), &encoded)?;
        self.slot_set(dst, Some(cap))?;
        Ok(Ok(()))
    }

    /// `cnode_pack`: slots `first .. first + count`, keyed by offset.
    pub(crate) fn cap_cnode_pack(&mut self, first: u8, count: u16, dst: u8) -> Result<CapResult> {
        let index = self.caps_frame()?;
        if u16::from(first) + count > 256 {
            return refuse(CapRefusal::BadArgument);
        }
        let mut entries = Vec::new();
        for offset in 0..count {
            let slot = first + offset as u8;
            if let Some(cap) = self.slot_of(index, slot)? {
                if !cap.is_persistable() {
                    return refuse(CapRefusal::NotPersistable);
                }
                entries.push((offset as u8, cap));
            }
        }
        let encoded = CNodeValue { entries }.encode();
        let hash = layout::cnode_hash(&encoded);
        let cap = Cap::CNode { hash };
        if let Err(refusal) = self.check_writable(index, dst, Some(&cap))? {
            return refuse(refusal);
        }
        self.store_blob(&layout::system_key(layout::CNODE, &hash), &encoded)?;
        self.slot_set(dst, Some(cap))?;
        Ok(Ok(()))
    }

    /// `cnode_unpack`: entry `(k, cap)` into slot `first + k`; all or nothing.
    pub(crate) fn cap_cnode_unpack(&mut self, cnode: u8, first: u8) -> Result<CapResult> {
        let index = self.caps_frame()?;
        let value = match self.slot_of(index, cnode)? {
            Some(Cap::CNode { hash }) => self.load_cnode(&hash)?,
            None => return refuse(CapRefusal::Empty),
            Some(_) => return refuse(CapRefusal::WrongKind),
        };
        let mut writes = Vec::with_capacity(value.entries.len());
        for (offset, cap) in value.entries {
            let Ok(slot) = u8::try_from(u16::from(first) + u16::from(offset)) else {
                return refuse(CapRefusal::BadArgument);
            };
            if let Err(refusal) = self.check_writable(index, slot, Some(&cap))? {
                return refuse(refusal);
            }
            writes.push((slot, cap));
        }
        for (slot, cap) in writes {
            self.slot_set(slot, Some(cap))?;
        }
        Ok(Ok(()))
    }

    /// `instance_cap`: a typed reference with the instance's current chain.
    pub(crate) fn cap_instance(
        &mut self,
        engine: EngineId,
        identity: &Identity,
        dst: u8,
    ) -> Result<CapResult> {
        self.caps_frame()?;
        let keeps_instances = self
            .engines
            .get(engine)
            .is_ok_and(|e| e.scope_kind() == ScopeKind::Instance);
        if !keeps_instances {
            return refuse(CapRefusal::Unsupported);
        }
        let Some(record) = self.instance_record(engine, identity)? else {
            return refuse(CapRefusal::NoSuchInstance);
        };
        let cap = Cap::Instance {
            engine,
            identity: *identity,
            chain: record.chain(engine),
        };
        self.put(dst, cap)
    }

    /// The Image cap in `slot` and its stored image, of the running engine.
    fn own_image(&mut self, slot: u8) -> Result<CapResult<([u8; 32], Image)>> {
        let hash = match self.slot_get(slot)? {
            Some(Cap::Image { hash }) => hash,
            None => return refuse(CapRefusal::Empty),
            Some(_) => return refuse(CapRefusal::WrongKind),
        };
        let image = self.load_image(&hash)?;
        if image.engine != self.top()?.engine {
            return refuse(CapRefusal::WrongKind);
        }
        Ok(Ok((hash, image)))
    }

    /// The running instance's current record.
    fn own_record(&self) -> Result<InstanceRecord> {
        let frame = self.top()?;
        self.instance_record(frame.engine, &frame.identity)?
            .ok_or(CoreError::Invariant {
                what: "a running instance has no instance record",
            })
    }

    /// `set_image`: chain' = blake2b(0x01 ‖ chain ‖ image_hash).
    pub(crate) fn cap_set_image(&mut self, slot: u8) -> Result<CapResult> {
        let index = self.caps_frame()?;
        let (image_hash, image) = match self.own_image(slot)? {
            Ok(found) => found,
            Err(refusal) => return refuse(refusal),
        };
        // The running invocation keeps the pinned slots it started with.
        self.load_pinned(index)?;
        let record = self.own_record()?;
        let frame = self.invocation(index)?;
        let engine = frame.engine;
        let key = StateKey::new(engine, frame.identity, layout::INSTANCE_RECORD_KEY);
        let chain =
            layout::extend_chain(layout::CHAIN_SET_IMAGE, &record.chain(engine), &image_hash);
        let value = InstanceRecord::encode_with_image(&image.code_hash, &image_hash, &chain);
        self.kernel_write(&key, Some(value))?;
        Ok(Ok(()))
    }

    /// `derive_spawn`: a new instance of the image, its identity from the
    /// spawner and its nonce, its chain blake2b(0x02 ‖ spawner chain ‖ image_hash).
    pub(crate) fn cap_derive_spawn(&mut self, slot: u8, dst: u8) -> Result<CapResult> {
        let index = self.caps_frame()?;
        let (image_hash, image) = match self.own_image(slot)? {
            Ok(found) => found,
            Err(refusal) => return refuse(refusal),
        };
        let record = self.own_record()?;
        let frame = self.invocation(index)?;
        let (engine, spawner, id) = (frame.engine, frame.identity, frame.id.0);
        let nonce_key = StateKey::new(engine, spawner, layout::SPAWN_NONCE_KEY);
        let nonce = match self.layered_get(engine, &spawner, &layout::SPAWN_NONCE_KEY)? {
            None => 0,
            Some(bytes) => u64::from_be_bytes(
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt(nonce_key.clone(), "a spawn nonce is not 8 bytes"))?,
            ),
        };
        let identity = layout::spawn_identity(engine, &spawner, nonce);
        if self.instance_record(engine, &identity)?.is_some() {
            return refuse(CapRefusal::Collision);
        }
        let chain = layout::extend_chain(layout::CHAIN_SPAWN, &record.chain(engine), &image_hash);
        let cap = Cap::Instance {
            engine,
            identity,
            chain,
        };
        if let Err(refusal) = self.check_writable(index, dst, Some(&cap))? {
            return refuse(refusal);
        }
        let next = nonce.checked_add(1).ok_or(CoreError::Invariant {
            what: "a spawn nonce overflowed u64",
        })?;
        self.kernel_write(&nonce_key, Some(next.to_be_bytes().to_vec()))?;
        let child = StateKey::new(engine, identity, layout::INSTANCE_RECORD_KEY);
        let value = InstanceRecord::encode_with_image(&image.code_hash, &image_hash, &chain);
        self.kernel_write(&child, Some(value))?;
        self.spawns.push((id, engine, identity));
        self.slot_set(dst, Some(cap))?;
        Ok(Ok(()))
    }

    /// `yieldref_mint`: a YieldRef to the running invocation's entry, into
    /// slot 0 or an ephemeral slot.
    pub(crate) fn cap_yieldref_mint(&mut self, dst: u8) -> Result<CapResult> {
        let index = self.caps_frame()?;
        if slot::is_persistent(dst) {
            return refuse(CapRefusal::NotPersistable);
        }
        let entry = self.invocation(index)?.id;
        self.slot_set(dst, Some(Cap::YieldRef { entry }))?;
        Ok(Ok(()))
    }
}

/// `bytes` without its trailing zeros (the stored form of Data).
fn strip_trailing_zeros(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    &bytes[..end]
}
