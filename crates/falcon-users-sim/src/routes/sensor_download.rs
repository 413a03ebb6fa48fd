//! Sensor download: only the lookup of the token's own CID (`GetSensorInstallersCCIDByQuery`),
//! which user-management scripts call first to learn which CID they act in.

use axum::http::StatusCode;
use axum::response::Response;
use falcon_users_api::types::MsaspecQueryResponse;

use crate::envelope::{answer, meta};
use crate::gate::Admitted;

/// `GetSensorInstallersCCIDByQuery`: the CID the token acts in (the member CID of a Flight
/// Control member token), as the service returns it: upper case with a `-XX` checksum.
pub async fn ccid(gate: Admitted) -> Response {
    let body = MsaspecQueryResponse {
        meta: meta(gate.started, &gate.headers.trace),
        resources: Some(vec![with_checksum(&gate.token.cid)]),
    };
    answer(StatusCode::OK, &gate.headers, &body)
}

/// `cid` in the console's form: upper case, `-`, two upper-case hex digits of checksum.
///
/// The service's checksum algorithm is not published (`spec/CURATION.md`, *Guesses*); this one
/// is the sum of the lowercase CID's bytes modulo 256, so a CID always gets the same suffix.
pub fn with_checksum(cid: &str) -> String {
    let lower = cid.to_ascii_lowercase();
    let sum = lower.bytes().fold(0u8, |sum, b| sum.wrapping_add(b));
    format!("{}-{sum:02X}", lower.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_form_is_upper_case_with_a_stable_two_hex_digit_suffix() {
        let cid = "0123456789abcdef0123456789abcdef";
        let form = with_checksum(cid);
        // '0'..'9' sum to 525, 'a'..'f' to 597; twice over, 2244 = 0x8C4.
        assert_eq!(form, "0123456789ABCDEF0123456789ABCDEF-C4");
        assert_eq!(with_checksum(&cid.to_ascii_uppercase()), form);
        assert_ne!(
            with_checksum("1123456789abcdef0123456789abcdef"),
            form,
            "another CID, another checksum"
        );
    }
}
