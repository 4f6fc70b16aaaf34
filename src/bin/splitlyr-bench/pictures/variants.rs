//! Per-upload variants of the photo: where its quantization tables are, and
//! the photo with some of their entries raised by one.

use crate::Result;

/// Byte offsets (0-based) of the 64 entries of each 8-bit quantization
/// table, in zigzag order, by table id.
pub(super) fn quant_tables(jpeg: &[u8]) -> Result<Vec<(u8, usize)>> {
    let mut tables = Vec::new();
    let mut at = 2;
    while at + 4 <= jpeg.len() {
        if jpeg[at] != 0xFF {
            return Err(format!("JPEG: no marker at byte {at}").into());
        }
        let marker = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if marker == 0xDA {
            break; // start of scan: the tables come before it
        }
        if marker == 0xDB {
            let end = at + 2 + len;
            let mut t = at + 4;
            while t < end {
                let (precision, id) = (jpeg[t] >> 4, jpeg[t] & 0x0F);
                if precision != 0 {
                    return Err("JPEG: 16-bit quantization table".into());
                }
                tables.push((id, t + 1));
                t += 65;
            }
        }
        at += 2 + len;
    }
    if tables.is_empty() {
        return Err("JPEG: no quantization table".into());
    }
    Ok(tables)
}

pub(super) fn patched(jpeg: &[u8], slots: &[usize], bits: u64) -> Vec<u8> {
    let mut out = jpeg.to_vec();
    for (k, &at) in slots.iter().enumerate() {
        out[at] += ((bits >> k) & 1) as u8;
    }
    out
}
