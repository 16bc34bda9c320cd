//! Git's delta format: the sizes of the base and the result, then instructions that either copy
//! a range of the base or insert literal bytes.

use anyhow::{bail, Result};

/// One delta instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Instruction<'a> {
    /// Copy `len` bytes of the base from `offset`.
    Copy { offset: usize, len: usize },
    /// Insert these bytes.
    Insert(&'a [u8]),
}

/// A delta's sizes and its instructions, checked against each other as they are read.
#[derive(Debug)]
pub struct Delta<'a> {
    /// The size of the base the delta applies to.
    pub base_size: usize,
    /// The size of the result.
    pub result_size: usize,
    instructions: &'a [u8],
}

impl<'a> Delta<'a> {
    /// Reads the two sizes at the start of `delta`.
    pub fn parse(delta: &'a [u8]) -> Result<Delta<'a>> {
        let mut at = 0;
        let base_size = read_size(delta, &mut at)?;
        let result_size = read_size(delta, &mut at)?;
        Ok(Delta {
            base_size,
            result_size,
            instructions: &delta[at..],
        })
    }

    /// The instructions, each checked: copies stay inside the base, the result never grows past
    /// its announced size. The last item is an error if the delta is corrupt.
    pub fn instructions(&self) -> impl Iterator<Item = Result<Instruction<'a>>> + '_ {
        let bytes = self.instructions;
        let mut at = 0;
        let mut written = 0usize;
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed || at >= bytes.len() {
                return None;
            }
            let item = next_instruction(bytes, &mut at).and_then(|instruction| {
                let len = match instruction {
                    Instruction::Copy { offset, len } => {
                        if offset
                            .checked_add(len)
                            .is_none_or(|end| end > self.base_size)
                        {
                            bail!("delta copies past the end of its base");
                        }
                        len
                    }
                    Instruction::Insert(literal) => literal.len(),
                };
                written += len;
                if written > self.result_size {
                    bail!("delta writes past its announced size");
                }
                Ok(instruction)
            });
            failed = item.is_err();
            Some(item)
        })
    }

    /// Applies the delta to `base`, writing the result into `out` (cleared first).
    pub fn apply(&self, base: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if base.len() != self.base_size {
            bail!(
                "delta expects a base of {} bytes, the base has {}",
                self.base_size,
                base.len()
            );
        }
        out.clear();
        // The announced size is only trusted as far as the delta could produce it.
        out.reserve(
            self.result_size
                .min(4 * (base.len() + self.instructions.len()) + 4096),
        );
        for instruction in self.instructions() {
            match instruction? {
                Instruction::Copy { offset, len } => {
                    out.extend_from_slice(&base[offset..offset + len])
                }
                Instruction::Insert(literal) => out.extend_from_slice(literal),
            }
        }
        if out.len() != self.result_size {
            bail!(
                "delta result has {} bytes, {} announced",
                out.len(),
                self.result_size
            );
        }
        Ok(())
    }
}

/// A size: little-endian groups of 7 bits.
fn read_size(bytes: &[u8], at: &mut usize) -> Result<usize> {
    let mut size = 0u64;
    let mut shift = 0;
    loop {
        let Some(&byte) = bytes.get(*at) else {
            bail!("delta header cut short");
        };
        *at += 1;
        if shift > 57 {
            bail!("delta size does not fit 64 bits");
        }
        size |= u64::from(byte & 0x7f) << shift;
        shift += 7;
        if byte & 0x80 == 0 {
            break;
        }
    }
    usize::try_from(size).map_err(|_| anyhow::anyhow!("delta size does not fit memory"))
}

fn next_instruction<'a>(bytes: &'a [u8], at: &mut usize) -> Result<Instruction<'a>> {
    let command = bytes[*at];
    *at += 1;
    if command & 0x80 != 0 {
        // Bits 0-3 say which offset bytes follow, bits 4-6 which size bytes (little-endian).
        let mut fields = [0u64; 2];
        for (field, bits) in fields.iter_mut().zip([0..4, 4..7]) {
            for (index, bit) in bits.enumerate() {
                if command & (1 << bit) != 0 {
                    let Some(&byte) = bytes.get(*at) else {
                        bail!("delta copy instruction cut short");
                    };
                    *at += 1;
                    *field |= u64::from(byte) << (8 * index);
                }
            }
        }
        let [offset, len] = fields;
        let len = if len == 0 { 0x10000 } else { len };
        return Ok(Instruction::Copy {
            offset: offset as usize,
            len: len as usize,
        });
    }
    if command == 0 {
        bail!("reserved delta instruction 0");
    }
    let len = usize::from(command);
    let Some(literal) = bytes.get(*at..*at + len) else {
        bail!("delta insert instruction cut short");
    };
    *at += len;
    Ok(Instruction::Insert(literal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_and_inserts_rebuild_the_result() {
        let base = b"hello, world";
        // Base 12 bytes, result 11: copy 5 bytes from 0, insert " there".
        let delta = [
            12,
            11,
            0x80 | 0x10,
            5,
            6,
            b' ',
            b't',
            b'h',
            b'e',
            b'r',
            b'e',
        ];
        let mut out = Vec::new();
        Delta::parse(&delta).unwrap().apply(base, &mut out).unwrap();
        assert_eq!(out, b"hello there");
    }

    #[test]
    fn corrupt_deltas_are_errors_not_panics() {
        let base = b"hello, world";
        let mut out = Vec::new();
        for delta in [
            &[12, 5, 0x80 | 0x01 | 0x10, 10, 5][..], // copy past the base
            &[12, 3, 4, b'a', b'b', b'c', b'd'],     // writes past the result size
            &[12, 3, 0],                             // reserved instruction
            &[12, 3, 3, b'a'],                       // insert cut short
            &[12, 3, 0x80 | 0x01],                   // copy cut short
            &[12],                                   // sizes cut short
            &[11, 0],                                // wrong base size
        ] {
            let result = Delta::parse(delta).and_then(|delta| delta.apply(base, &mut out));
            assert!(result.is_err(), "{delta:?}");
        }
    }
}
