//! Feeds arbitrary bytes to the response decoders the client uses: they must return an error or
//! a value, never panic, whatever a server (or a proxy in the way) sends.
#![no_main]

use falcon_users_api::types;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<types::FlightcontrolapiUserResponse>(data);
    let _ = serde_json::from_slice::<types::MsaspecQueryResponse>(data);
    let _ = serde_json::from_slice::<types::MsaspecResponseFields>(data);
    let _ = serde_json::from_slice::<types::FlightcontrolapiGetRolesResponse>(data);
    let _ = serde_json::from_slice::<types::FlightcontrolapiCombinedUserRolesResponseV2>(data);
    let _ = serde_json::from_slice::<types::FlightcontrolapiAggregatesResponse>(data);
    let _ = serde_json::from_slice::<types::DomainAccessTokenResponseV1>(data);
    let _ = serde_json::from_slice::<types::DomainActionValidationResponse>(data);
});
