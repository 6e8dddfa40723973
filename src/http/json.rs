//! An answer's JSON, written directly: the bytes `serde_json::to_vec` gives for it, without
//! serde's machinery around each value. A dashboard's answer is 2,000 strings and keys in
//! 25 KB, and serde cost 430,000 instructions to write it (7 % of a staff dashboard,
//! BENCHMARKS.md, "Issue 11, fifth round"): each string went through a formatter and
//! `io::Write` calls, each object and list through its serializer states, and the buffer
//! grew from 128 bytes by doubling.
//!
//! `data` is written here; errors and extensions, which are few, still go through serde,
//! as does every value whose form serde decides (numbers, bytes, raw values). The tests
//! hold the output to serde's, byte for byte, on generated values.

use async_graphql::{Name, Response, Value};

/// The room an answer starts with: a dashboard's answer fits, a small answer wastes
/// little of it for the moment it is held.
pub const START: usize = 8 << 10;

/// `serde_json::to_writer(out, r)`: the fields and rules of async-graphql's `Serialize`
/// for `Response`.
pub fn write_response(out: &mut Vec<u8>, r: &Response) -> serde_json::Result<()> {
    out.extend_from_slice(b"{\"data\":");
    write_value(out, &r.data)?;
    if !r.extensions.is_empty() {
        out.extend_from_slice(b",\"extensions\":");
        serde_json::to_writer(&mut *out, &r.extensions)?;
    }
    if !r.errors.is_empty() {
        out.extend_from_slice(b",\"errors\":");
        serde_json::to_writer(&mut *out, &r.errors)?;
    }
    out.push(b'}');
    Ok(())
}

/// `serde_json::to_writer(out, value)`.
pub fn write_value(out: &mut Vec<u8>, value: &Value) -> serde_json::Result<()> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(true) => out.extend_from_slice(b"true"),
        Value::Boolean(false) => out.extend_from_slice(b"false"),
        Value::String(s) => write_str(out, s),
        Value::Enum(name) => write_str(out, name),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        // One key may stand for a raw value (async-graphql's `raw_value`): serde knows it.
        Value::Object(map) if map.len() != 1 || !map.keys().any(|k| k.starts_with('$')) => {
            out.push(b'{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_key(out, key);
                write_value(out, item)?;
            }
            out.push(b'}');
        }
        Value::Number(_) | Value::Binary(_) | Value::Object(_) => serde_json::to_writer(&mut *out, value)?,
    }
    Ok(())
}

fn write_key(out: &mut Vec<u8>, key: &Name) {
    write_str(out, key);
    out.push(b':');
}

/// What follows the backslash for each byte that serde_json escapes, `u` for `\u00XX`,
/// and 0 for bytes written as they are.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = ESCAPE[b as usize];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if escape == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use async_graphql::indexmap::IndexMap;
    use async_graphql::{Name, Number, ServerError};
    use proptest::prelude::*;

    use super::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Boolean),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            any::<u64>().prop_map(|n| Value::Number(n.into())),
            any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
            // Any text: controls, quotes, backslashes, DEL, non-ASCII.
            any::<String>().prop_map(Value::String),
            "[\\x00-\\x7f]{0,12}".prop_map(Value::String),
            "[A-Z_]{1,10}".prop_map(|s| Value::Enum(Name::new(s))),
            proptest::collection::vec(any::<u8>(), 0..6).prop_map(|b| Value::Binary(b.into())),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
                proptest::collection::vec((any::<String>(), inner), 0..6).prop_map(|kv| {
                    Value::Object(
                        kv.into_iter()
                            .map(|(k, v)| (Name::new(k), v))
                            .collect::<IndexMap<_, _>>(),
                    )
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn a_value_is_written_as_serde_writes_it(v in value()) {
            let mut ours = Vec::new();
            write_value(&mut ours, &v).unwrap();
            prop_assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&v).unwrap());
        }

        #[test]
        fn an_answer_is_written_as_serde_writes_it(data in value(), errors in 0..3usize, ext in any::<bool>()) {
            let mut r = Response::new(data);
            for i in 0..errors {
                r.errors.push(ServerError::new(format!("bad \"{i}\"\n"), None));
            }
            if ext {
                r.extensions.insert("cost".into(), Value::Number(7.into()));
            }
            let mut ours = Vec::new();
            write_response(&mut ours, &r).unwrap();
            prop_assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&r).unwrap());
        }
    }

    #[test]
    fn controls_quotes_and_backslashes_are_escaped_as_serde_escapes_them() {
        let all: String = (0u8..0x80).map(char::from).chain("é\u{2028}😀".chars()).collect();
        let mut ours = Vec::new();
        write_value(&mut ours, &Value::String(all.clone())).unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(&all).unwrap()
        );
    }
}
