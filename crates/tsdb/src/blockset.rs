//! The set of persisted blocks, sorted by time.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use crate::TsdbError;
use crate::block::Block;

#[derive(Debug, Default)]
pub struct BlockSet {
    blocks: Vec<Arc<Block>>,
}

/// Block ids are 24 lowercase hex digits (see `block::new_block_id`); other
/// directories in the data dir are not the store's to delete.
fn is_block_id(name: &str) -> bool {
    name.len() == 24
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl BlockSet {
    /// Opens every block under `dir`. Leftover `*.tmp` directories (a crash
    /// or a full disk while writing) and block directories without their
    /// `meta.json` are removed, and so are blocks whose data a compacted
    /// block already holds (a crash between writing it and deleting its sources).
    pub fn load(dir: &Path) -> Result<BlockSet, TsdbError> {
        let mut blocks = Vec::new();
        for e in fs::read_dir(dir).map_err(|e| TsdbError::io(dir, e))? {
            let e = e.map_err(|e| TsdbError::io(dir, e))?;
            let path = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if !path.is_dir() || name == "wal" {
                continue;
            }
            if name.ends_with(".tmp") {
                tracing::warn!(dir = %path.display(), "removing incomplete block left by a crash");
                let _ = fs::remove_dir_all(&path);
                continue;
            }
            if path.join("meta.json").exists() {
                blocks.push(Arc::new(Block::open(&path)?));
            } else if is_block_id(&name) {
                // Blocks are renamed into place complete, meta.json included,
                // so only damage from outside (a copy cut short) gets here.
                tracing::warn!(dir = %path.display(), "removing a block directory without meta.json (incomplete)");
                let _ = fs::remove_dir_all(&path);
            }
        }
        let mut set = BlockSet { blocks };
        set.remove_superseded();
        set.sort();
        Ok(set)
    }

    fn sort(&mut self) {
        self.blocks
            .sort_by_key(|b| (b.meta().min_time, b.meta().max_time));
    }

    fn remove_superseded(&mut self) {
        let mut superseded = BTreeSet::new();
        for a in &self.blocks {
            for b in &self.blocks {
                let (ma, mb) = (a.meta(), b.meta());
                if ma.id != mb.id
                    && ma.level > mb.level
                    && mb.sources.iter().all(|s| ma.sources.contains(s))
                {
                    superseded.insert(mb.id.clone());
                }
            }
        }
        self.blocks.retain(|b| {
            if superseded.contains(&b.meta().id) {
                tracing::warn!(block = %b.meta().id, "removing block already merged into a compacted block");
                let _ = fs::remove_dir_all(b.dir());
                false
            } else {
                true
            }
        });
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }

    pub fn all(&self) -> &[Arc<Block>] {
        &self.blocks
    }

    pub fn max_time(&self) -> Option<i64> {
        self.blocks.iter().map(|b| b.meta().max_time).max()
    }

    pub fn size_bytes(&self) -> u64 {
        self.blocks.iter().map(|b| b.size_bytes()).sum()
    }

    pub fn overlapping(&self, mint: i64, maxt: i64) -> impl Iterator<Item = &Arc<Block>> {
        self.blocks
            .iter()
            .filter(move |b| b.meta().min_time <= maxt && b.meta().max_time > mint)
    }

    pub fn add(&mut self, b: Block) {
        self.blocks.push(Arc::new(b));
        self.sort();
    }

    /// Drops blocks from the set; their directories are deleted by the caller
    /// once no reader holds them (an `Arc` keeps an open block usable).
    pub fn remove(&mut self, ids: &BTreeSet<String>) -> Vec<Arc<Block>> {
        let (gone, keep): (Vec<_>, Vec<_>) = self
            .blocks
            .drain(..)
            .partition(|b| ids.contains(&b.meta().id));
        self.blocks = keep;
        gone
    }
}
