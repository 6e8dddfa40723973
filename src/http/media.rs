//! The media type of an answer (GraphQL over HTTP): `application/graphql-response+json`
//! or `application/json`, whichever the client's `Accept` ranks higher. A tie, `*/*`, or
//! no `Accept` at all is `application/json` (the specification's watershed rule), so that
//! clients written before the new type keep their 200-with-errors answers.

use axum::http::{HeaderMap, HeaderValue, header};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    Json,
    GraphqlResponse,
}

impl Media {
    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::Json => "application/json; charset=utf-8",
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        })
    }

    /// The client's highest-priority acceptable media type, or `None` when it accepts
    /// neither (answered 406).
    pub fn negotiate(headers: &HeaderMap) -> Option<Media> {
        let ranges: Vec<Range> = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(Range::parse)
            .collect();
        if ranges.is_empty() {
            return Some(Media::Json);
        }
        let json = quality(&ranges, "application", "json");
        let graphql = quality(&ranges, "application", "graphql-response+json");
        match (graphql, json) {
            (g, j) if g <= 0.0 && j <= 0.0 => None,
            (g, j) if g > j => Some(Media::GraphqlResponse),
            _ => Some(Media::Json),
        }
    }
}

/// One media range of an `Accept` header, lower-cased, with its `q`.
struct Range {
    kind: String,
    subtype: String,
    q: f32,
}

impl Range {
    fn parse(text: &str) -> Option<Range> {
        let mut parts = text.split(';');
        let media = parts.next()?.trim().to_ascii_lowercase();
        let (kind, subtype) = media.split_once('/')?;
        let mut q = 1.0;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = value
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))?;
            }
        }
        Some(Range {
            kind: kind.trim().to_string(),
            subtype: subtype.trim().to_string(),
            q,
        })
    }
}

/// The `q` of the most specific range that matches `kind/subtype` (RFC 9110 §12.5.1),
/// 0 when none does.
fn quality(ranges: &[Range], kind: &str, subtype: &str) -> f32 {
    ranges
        .iter()
        .filter_map(|r| {
            let specificity = match (r.kind.as_str(), r.subtype.as_str()) {
                (k, s) if k == kind && s == subtype => 2,
                (k, "*") if k == kind => 1,
                ("*", "*") => 0,
                _ => return None,
            };
            Some((specificity, r.q))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)))
        .map_or(0.0, |(_, q)| q)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(accept: Option<&str>) -> Option<Media> {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(header::ACCEPT, HeaderValue::from_str(a).unwrap());
        }
        Media::negotiate(&headers)
    }

    #[test]
    fn the_watershed_rule_and_q_values() {
        use Media::*;
        assert_eq!(media(None), Some(Json));
        assert_eq!(media(Some("*/*")), Some(Json));
        assert_eq!(media(Some("application/*")), Some(Json));
        assert_eq!(media(Some("application/json")), Some(Json));
        assert_eq!(
            media(Some("application/graphql-response+json")),
            Some(GraphqlResponse)
        );
        assert_eq!(
            media(Some("application/graphql-response+json, application/json")),
            Some(Json),
            "a tie is application/json"
        );
        assert_eq!(
            media(Some(
                "application/graphql-response+json;charset=utf-8, application/json;q=0.9"
            )),
            Some(GraphqlResponse)
        );
        assert_eq!(
            media(Some(
                "application/graphql-response+json;q=0.5, application/json;q=0.9"
            )),
            Some(Json)
        );
        assert_eq!(media(Some("application/json;q=0, */*")), Some(GraphqlResponse));
        assert_eq!(media(Some("text/html")), None);
        assert_eq!(media(Some("application/json;q=0")), None);
        assert_eq!(media(Some("application/xml, text/*")), None);
    }
}
