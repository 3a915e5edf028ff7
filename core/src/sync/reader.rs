//! A CBOR reader over a byte slice that enforces its limits while it reads.
//!
//! It builds no tree of values: a caller reads one head at a time (an integer, the length of a
//! string, the count of an array or map) and takes what it expects, so a request is decoded
//! straight into its typed fields. Every declared length or count is checked against the bytes
//! that remain *before* anything is read or reserved for it (each item takes at least one
//! byte), so a header that claims 2^62 items fails at once; nesting is bounded by the depth
//! the caller passes to [`Reader::skip`]. Indefinite lengths are refused: Kobiri's encoders
//! never write them.

/// Bytes that are not the CBOR expected: invalid, truncated, too deep or indefinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// One item's head: its major type and its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// An unsigned integer.
    Uint(u64),
    /// A negative integer, `-1 - n`.
    Nint(u64),
    /// A byte string of this many bytes.
    Bytes(u64),
    /// A text string of this many bytes.
    Text(u64),
    /// An array of this many items.
    Array(u64),
    /// A map of this many pairs.
    Map(u64),
    /// A tag; one item follows.
    Tag(u64),
    /// A simple value or a float (its bytes already read).
    Simple,
}

/// Reads CBOR items from the front of a slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Whether every byte was read.
    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], Malformed> {
        let len = usize::try_from(len).map_err(|_| Malformed)?;
        if len > self.rest.len() {
            return Err(Malformed);
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    /// Checks that `count` items of at least one byte each can still follow.
    fn fits(&self, count: u64, per_item: u64) -> Result<(), Malformed> {
        let needed = count.checked_mul(per_item).ok_or(Malformed)?;
        if needed > self.rest.len() as u64 {
            Err(Malformed)
        } else {
            Ok(())
        }
    }

    /// Reads the next head. A string's bytes, and a container's items, are left to read.
    pub fn head(&mut self) -> Result<Head, Malformed> {
        let [initial] = *self.take(1)? else {
            return Err(Malformed);
        };
        let info = initial & 0x1f;
        let arg = match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.take(1)?[0]),
            25 => u64::from(u16::from_be_bytes(
                self.take(2)?.try_into().map_err(|_| Malformed)?,
            )),
            26 => u64::from(u32::from_be_bytes(
                self.take(4)?.try_into().map_err(|_| Malformed)?,
            )),
            27 => u64::from_be_bytes(self.take(8)?.try_into().map_err(|_| Malformed)?),
            // 28–30 are reserved; 31 is an indefinite length or a break.
            _ => return Err(Malformed),
        };
        Ok(match initial >> 5 {
            0 => Head::Uint(arg),
            1 => Head::Nint(arg),
            2 => Head::Bytes(arg),
            3 => Head::Text(arg),
            4 => Head::Array(arg),
            5 => Head::Map(arg),
            6 => Head::Tag(arg),
            _ => Head::Simple,
        })
    }

    /// The bytes of a string whose head was just read.
    pub fn string_bytes(&mut self, len: u64) -> Result<&'a [u8], Malformed> {
        self.take(len)
    }

    /// Checks a container's declared count against the bytes left: an array's items, or a
    /// map's pairs (two items each).
    pub fn check_count(&self, head: Head) -> Result<u64, Malformed> {
        match head {
            Head::Array(n) => self.fits(n, 1).map(|()| n),
            Head::Map(n) => self.fits(n, 2).map(|()| n),
            _ => Err(Malformed),
        }
    }

    /// A text string, borrowed.
    pub fn text(&mut self) -> Result<Option<&'a str>, Malformed> {
        match self.head()? {
            Head::Text(len) => {
                let bytes = self.take(len)?;
                std::str::from_utf8(bytes).map(Some).map_err(|_| Malformed)
            }
            other => {
                self.skip_after(other, SKIP_DEPTH)?;
                Ok(None)
            }
        }
    }

    /// Skips one whole item, following at most `depth` levels of arrays, maps and tags.
    pub fn skip(&mut self, depth: usize) -> Result<(), Malformed> {
        let head = self.head()?;
        self.skip_after(head, depth)
    }

    /// Skips the rest of an item whose head was just read.
    pub fn skip_after(&mut self, head: Head, depth: usize) -> Result<(), Malformed> {
        match head {
            Head::Uint(_) | Head::Nint(_) | Head::Simple => Ok(()),
            Head::Bytes(len) => self.take(len).map(drop),
            Head::Text(len) => {
                let bytes = self.take(len)?;
                std::str::from_utf8(bytes).map(drop).map_err(|_| Malformed)
            }
            Head::Array(_) | Head::Map(_) | Head::Tag(_) => {
                let inner = depth.checked_sub(1).ok_or(Malformed)?;
                let items = match head {
                    Head::Tag(_) => 1,
                    Head::Map(_) => self.check_count(head)? * 2,
                    _ => self.check_count(head)?,
                };
                for _ in 0..items {
                    self.skip(inner)?;
                }
                Ok(())
            }
        }
    }
}

/// How deep [`Reader::text`] follows a value that is not text before giving up.
const SKIP_DEPTH: usize = 2;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn heads_lengths_and_strings_are_read() {
        let mut r = Reader::new(&[0x18, 0xff, 0x39, 0x01, 0x00, 0x63, b'a', b'b', b'c', 0x42]);
        assert_eq!(r.head(), Ok(Head::Uint(255)));
        assert_eq!(r.head(), Ok(Head::Nint(256)));
        assert_eq!(r.text(), Ok(Some("abc")));
        assert_eq!(r.head(), Ok(Head::Bytes(2)));
        assert_eq!(r.string_bytes(2), Err(Malformed));
    }

    #[test]
    fn declared_counts_beyond_the_input_fail_before_reading() {
        let huge_array = [0x9b, 0x40, 0, 0, 0, 0, 0, 0, 0];
        let mut r = Reader::new(&huge_array);
        let head = r.head().unwrap();
        assert_eq!(head, Head::Array(1 << 62));
        assert_eq!(r.check_count(head), Err(Malformed));
        let huge_map = [0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(Reader::new(&huge_map).skip(4), Err(Malformed));
        let huge_text = [0x7b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(Reader::new(&huge_text).skip(4), Err(Malformed));
    }

    #[test]
    fn depth_indefinite_lengths_and_bad_utf8_are_refused() {
        let deep = [vec![0x81; 10], vec![0x00]].concat();
        assert_eq!(Reader::new(&deep).skip(4), Err(Malformed));
        assert_eq!(Reader::new(&deep).skip(11), Ok(()));
        assert_eq!(Reader::new(&[0x9f, 0x00, 0xff]).skip(4), Err(Malformed));
        assert_eq!(Reader::new(&[0x62, 0xff, 0xfe]).text(), Err(Malformed));
        let mut r = Reader::new(&[0xa1, 0x61, b'k', 0xc1, 0x82, 0xf9, 0x3c, 0x00, 0xf5]);
        assert_eq!(r.skip(3), Ok(()));
        assert!(r.is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let mut r = Reader::new(&bytes);
            while r.skip(8).is_ok() && !r.is_empty() {}
        }
    }
}
