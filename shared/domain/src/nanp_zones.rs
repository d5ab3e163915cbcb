//! Where a North American area code is: its state or province and its IANA time zone.
//!
//! Covers the 50 states, DC, the US territories (PR, VI, GU, MP, AS) and Canada. Caribbean
//! countries on +1 are left out: their ISO codes would clash with state codes (KY is both
//! Kentucky and the Cayman Islands). Toll-free and other non-geographic codes return `None`.
//!
//! An area code that spans two zones maps to the zone where most of its numbers are (850, the
//! Florida panhandle, is mostly Central; 915, El Paso, is Mountain). Mobile numbers keep their
//! area code when people move, so callers planning quiet hours should treat this as a best
//! guess and leave a margin.

const ET: &str = "America/New_York";
const CT: &str = "America/Chicago";
const MT: &str = "America/Denver";
const PT: &str = "America/Los_Angeles";
const AZ: &str = "America/Phoenix";
const DETROIT: &str = "America/Detroit";
const INDIANA: &str = "America/Indiana/Indianapolis";
const BOISE: &str = "America/Boise";

#[rustfmt::skip]
static AREA_CODES: &[(&str, &str, &str)] = &[
    ("205", "AL", CT), ("251", "AL", CT), ("256", "AL", CT), ("334", "AL", CT), ("659", "AL", CT),
    ("938", "AL", CT),
    ("907", "AK", "America/Anchorage"),
    ("480", "AZ", AZ), ("520", "AZ", AZ), ("602", "AZ", AZ), ("623", "AZ", AZ), ("928", "AZ", AZ),
    ("327", "AR", CT), ("479", "AR", CT), ("501", "AR", CT), ("870", "AR", CT),
    ("209", "CA", PT), ("213", "CA", PT), ("279", "CA", PT), ("310", "CA", PT), ("323", "CA", PT),
    ("341", "CA", PT), ("350", "CA", PT), ("408", "CA", PT), ("415", "CA", PT), ("424", "CA", PT),
    ("442", "CA", PT), ("510", "CA", PT), ("530", "CA", PT), ("559", "CA", PT), ("562", "CA", PT),
    ("619", "CA", PT), ("626", "CA", PT), ("628", "CA", PT), ("650", "CA", PT), ("657", "CA", PT),
    ("661", "CA", PT), ("669", "CA", PT), ("707", "CA", PT), ("714", "CA", PT), ("738", "CA", PT),
    ("747", "CA", PT), ("760", "CA", PT), ("805", "CA", PT), ("818", "CA", PT), ("820", "CA", PT),
    ("831", "CA", PT), ("840", "CA", PT), ("858", "CA", PT), ("909", "CA", PT), ("916", "CA", PT),
    ("925", "CA", PT), ("949", "CA", PT), ("951", "CA", PT),
    ("303", "CO", MT), ("719", "CO", MT), ("720", "CO", MT), ("970", "CO", MT), ("983", "CO", MT),
    ("203", "CT", ET), ("475", "CT", ET), ("860", "CT", ET), ("959", "CT", ET),
    ("302", "DE", ET),
    ("202", "DC", ET), ("771", "DC", ET),
    ("239", "FL", ET), ("305", "FL", ET), ("321", "FL", ET), ("352", "FL", ET), ("386", "FL", ET),
    ("407", "FL", ET), ("448", "FL", CT), ("561", "FL", ET), ("645", "FL", ET), ("656", "FL", ET),
    ("689", "FL", ET), ("727", "FL", ET), ("754", "FL", ET), ("772", "FL", ET), ("786", "FL", ET),
    ("813", "FL", ET), ("850", "FL", CT), ("863", "FL", ET), ("904", "FL", ET), ("941", "FL", ET),
    ("954", "FL", ET),
    ("229", "GA", ET), ("404", "GA", ET), ("470", "GA", ET), ("478", "GA", ET), ("678", "GA", ET),
    ("706", "GA", ET), ("762", "GA", ET), ("770", "GA", ET), ("912", "GA", ET), ("943", "GA", ET),
    ("808", "HI", "Pacific/Honolulu"),
    ("208", "ID", BOISE), ("986", "ID", BOISE),
    ("217", "IL", CT), ("224", "IL", CT), ("309", "IL", CT), ("312", "IL", CT), ("331", "IL", CT),
    ("447", "IL", CT), ("464", "IL", CT), ("618", "IL", CT), ("630", "IL", CT), ("708", "IL", CT),
    ("730", "IL", CT), ("773", "IL", CT), ("779", "IL", CT), ("815", "IL", CT), ("847", "IL", CT),
    ("872", "IL", CT),
    ("219", "IN", CT), ("260", "IN", INDIANA), ("317", "IN", INDIANA), ("463", "IN", INDIANA),
    ("574", "IN", INDIANA), ("765", "IN", INDIANA), ("812", "IN", INDIANA), ("930", "IN", INDIANA),
    ("319", "IA", CT), ("515", "IA", CT), ("563", "IA", CT), ("641", "IA", CT), ("712", "IA", CT),
    ("316", "KS", CT), ("620", "KS", CT), ("785", "KS", CT), ("913", "KS", CT),
    ("270", "KY", CT), ("364", "KY", CT), ("502", "KY", ET), ("606", "KY", ET), ("859", "KY", ET),
    ("225", "LA", CT), ("318", "LA", CT), ("337", "LA", CT), ("504", "LA", CT), ("985", "LA", CT),
    ("207", "ME", ET),
    ("227", "MD", ET), ("240", "MD", ET), ("301", "MD", ET), ("410", "MD", ET), ("443", "MD", ET),
    ("667", "MD", ET),
    ("339", "MA", ET), ("351", "MA", ET), ("413", "MA", ET), ("508", "MA", ET), ("617", "MA", ET),
    ("774", "MA", ET), ("781", "MA", ET), ("857", "MA", ET), ("978", "MA", ET),
    ("231", "MI", DETROIT), ("248", "MI", DETROIT), ("269", "MI", DETROIT), ("313", "MI", DETROIT),
    ("517", "MI", DETROIT), ("586", "MI", DETROIT), ("616", "MI", DETROIT), ("679", "MI", DETROIT),
    ("734", "MI", DETROIT), ("810", "MI", DETROIT), ("906", "MI", DETROIT), ("947", "MI", DETROIT),
    ("989", "MI", DETROIT),
    ("218", "MN", CT), ("320", "MN", CT), ("507", "MN", CT), ("612", "MN", CT), ("651", "MN", CT),
    ("763", "MN", CT), ("952", "MN", CT),
    ("228", "MS", CT), ("601", "MS", CT), ("662", "MS", CT), ("769", "MS", CT),
    ("235", "MO", CT), ("314", "MO", CT), ("417", "MO", CT), ("557", "MO", CT), ("573", "MO", CT),
    ("636", "MO", CT), ("660", "MO", CT), ("816", "MO", CT),
    ("406", "MT", MT),
    ("308", "NE", CT), ("402", "NE", CT), ("531", "NE", CT),
    ("702", "NV", PT), ("725", "NV", PT), ("775", "NV", PT),
    ("603", "NH", ET),
    ("201", "NJ", ET), ("551", "NJ", ET), ("609", "NJ", ET), ("640", "NJ", ET), ("732", "NJ", ET),
    ("848", "NJ", ET), ("856", "NJ", ET), ("862", "NJ", ET), ("908", "NJ", ET), ("973", "NJ", ET),
    ("505", "NM", MT), ("575", "NM", MT),
    ("212", "NY", ET), ("315", "NY", ET), ("329", "NY", ET), ("332", "NY", ET), ("347", "NY", ET),
    ("363", "NY", ET), ("516", "NY", ET), ("518", "NY", ET), ("585", "NY", ET), ("607", "NY", ET),
    ("624", "NY", ET), ("631", "NY", ET), ("646", "NY", ET), ("680", "NY", ET), ("716", "NY", ET),
    ("718", "NY", ET), ("838", "NY", ET), ("845", "NY", ET), ("914", "NY", ET), ("917", "NY", ET),
    ("929", "NY", ET), ("934", "NY", ET),
    ("252", "NC", ET), ("336", "NC", ET), ("472", "NC", ET), ("704", "NC", ET), ("743", "NC", ET),
    ("828", "NC", ET), ("910", "NC", ET), ("919", "NC", ET), ("980", "NC", ET), ("984", "NC", ET),
    ("701", "ND", CT),
    ("216", "OH", ET), ("220", "OH", ET), ("234", "OH", ET), ("283", "OH", ET), ("326", "OH", ET),
    ("330", "OH", ET), ("380", "OH", ET), ("419", "OH", ET), ("436", "OH", ET), ("440", "OH", ET),
    ("513", "OH", ET), ("567", "OH", ET), ("614", "OH", ET), ("740", "OH", ET), ("937", "OH", ET),
    ("405", "OK", CT), ("539", "OK", CT), ("572", "OK", CT), ("580", "OK", CT), ("918", "OK", CT),
    ("458", "OR", PT), ("503", "OR", PT), ("541", "OR", PT), ("971", "OR", PT),
    ("215", "PA", ET), ("223", "PA", ET), ("267", "PA", ET), ("272", "PA", ET), ("412", "PA", ET),
    ("445", "PA", ET), ("484", "PA", ET), ("570", "PA", ET), ("582", "PA", ET), ("610", "PA", ET),
    ("717", "PA", ET), ("724", "PA", ET), ("814", "PA", ET), ("835", "PA", ET), ("878", "PA", ET),
    ("401", "RI", ET),
    ("803", "SC", ET), ("839", "SC", ET), ("843", "SC", ET), ("854", "SC", ET), ("864", "SC", ET),
    ("605", "SD", CT),
    ("423", "TN", ET), ("615", "TN", CT), ("629", "TN", CT), ("731", "TN", CT), ("865", "TN", ET),
    ("901", "TN", CT), ("931", "TN", CT),
    ("210", "TX", CT), ("214", "TX", CT), ("254", "TX", CT), ("281", "TX", CT), ("325", "TX", CT),
    ("346", "TX", CT), ("361", "TX", CT), ("409", "TX", CT), ("430", "TX", CT), ("432", "TX", CT),
    ("469", "TX", CT), ("512", "TX", CT), ("682", "TX", CT), ("713", "TX", CT), ("726", "TX", CT),
    ("737", "TX", CT), ("806", "TX", CT), ("817", "TX", CT), ("830", "TX", CT), ("832", "TX", CT),
    ("903", "TX", CT), ("915", "TX", MT), ("936", "TX", CT), ("940", "TX", CT), ("945", "TX", CT),
    ("956", "TX", CT), ("972", "TX", CT), ("979", "TX", CT),
    ("385", "UT", MT), ("435", "UT", MT), ("801", "UT", MT),
    ("802", "VT", ET),
    ("276", "VA", ET), ("434", "VA", ET), ("540", "VA", ET), ("571", "VA", ET), ("703", "VA", ET),
    ("757", "VA", ET), ("804", "VA", ET), ("826", "VA", ET), ("948", "VA", ET),
    ("206", "WA", PT), ("253", "WA", PT), ("360", "WA", PT), ("425", "WA", PT), ("509", "WA", PT),
    ("564", "WA", PT),
    ("304", "WV", ET), ("681", "WV", ET),
    ("262", "WI", CT), ("274", "WI", CT), ("353", "WI", CT), ("414", "WI", CT), ("534", "WI", CT),
    ("608", "WI", CT), ("715", "WI", CT), ("920", "WI", CT),
    ("307", "WY", MT),
    // US territories.
    ("787", "PR", "America/Puerto_Rico"), ("939", "PR", "America/Puerto_Rico"),
    ("340", "VI", "America/St_Thomas"),
    ("671", "GU", "Pacific/Guam"),
    ("670", "MP", "Pacific/Saipan"),
    ("684", "AS", "Pacific/Pago_Pago"),
    // Canada.
    ("368", "AB", "America/Edmonton"), ("403", "AB", "America/Edmonton"),
    ("587", "AB", "America/Edmonton"), ("780", "AB", "America/Edmonton"),
    ("825", "AB", "America/Edmonton"),
    ("236", "BC", "America/Vancouver"), ("250", "BC", "America/Vancouver"),
    ("257", "BC", "America/Vancouver"), ("604", "BC", "America/Vancouver"),
    ("672", "BC", "America/Vancouver"), ("778", "BC", "America/Vancouver"),
    ("204", "MB", "America/Winnipeg"), ("431", "MB", "America/Winnipeg"),
    ("584", "MB", "America/Winnipeg"),
    ("428", "NB", "America/Moncton"), ("506", "NB", "America/Moncton"),
    ("709", "NL", "America/St_Johns"), ("879", "NL", "America/St_Johns"),
    // 782 and 902 are shared by Nova Scotia and Prince Edward Island, on the same time.
    ("782", "NS", "America/Halifax"), ("902", "NS", "America/Halifax"),
    ("226", "ON", "America/Toronto"), ("249", "ON", "America/Toronto"),
    ("289", "ON", "America/Toronto"), ("343", "ON", "America/Toronto"),
    ("365", "ON", "America/Toronto"), ("382", "ON", "America/Toronto"),
    ("416", "ON", "America/Toronto"), ("437", "ON", "America/Toronto"),
    ("519", "ON", "America/Toronto"), ("548", "ON", "America/Toronto"),
    ("613", "ON", "America/Toronto"), ("647", "ON", "America/Toronto"),
    ("683", "ON", "America/Toronto"), ("705", "ON", "America/Toronto"),
    ("742", "ON", "America/Toronto"), ("753", "ON", "America/Toronto"),
    ("807", "ON", "America/Toronto"), ("905", "ON", "America/Toronto"),
    ("942", "ON", "America/Toronto"),
    ("263", "QC", "America/Toronto"), ("354", "QC", "America/Toronto"),
    ("367", "QC", "America/Toronto"), ("418", "QC", "America/Toronto"),
    ("438", "QC", "America/Toronto"), ("450", "QC", "America/Toronto"),
    ("468", "QC", "America/Toronto"), ("514", "QC", "America/Toronto"),
    ("579", "QC", "America/Toronto"), ("581", "QC", "America/Toronto"),
    ("819", "QC", "America/Toronto"), ("873", "QC", "America/Toronto"),
    ("306", "SK", "America/Regina"), ("474", "SK", "America/Regina"),
    ("639", "SK", "America/Regina"),
    // 867 serves all three territories. Yukon (UTC-7 all year) and the NWT read the same
    // clock as Edmonton, so that zone fits most of its lines.
    ("867", "NT", "America/Edmonton"),
];

fn lookup(area_code: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    AREA_CODES.iter().find(|(code, _, _)| *code == area_code)
}

/// The IANA time zone of most numbers under a US or Canadian area code.
pub fn area_code_time_zone(area_code: &str) -> Option<&'static str> {
    lookup(area_code).map(|&(_, _, zone)| zone)
}

/// The two-letter state, territory or province of a US or Canadian area code.
pub fn area_code_state(area_code: &str) -> Option<&'static str> {
    lookup(area_code).map(|&(_, state, _)| state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PhoneNumber;
    use std::collections::HashSet;

    #[test]
    fn maps_well_known_area_codes() {
        let cases = [
            ("212", "NY", "America/New_York"),
            ("415", "CA", "America/Los_Angeles"),
            ("312", "IL", "America/Chicago"),
            ("303", "CO", "America/Denver"),
            ("602", "AZ", "America/Phoenix"),
            ("808", "HI", "Pacific/Honolulu"),
            ("907", "AK", "America/Anchorage"),
            ("416", "ON", "America/Toronto"),
            ("604", "BC", "America/Vancouver"),
            ("202", "DC", "America/New_York"),
            ("915", "TX", "America/Denver"),
            ("219", "IN", "America/Chicago"),
            ("317", "IN", "America/Indiana/Indianapolis"),
            ("313", "MI", "America/Detroit"),
            ("208", "ID", "America/Boise"),
            ("306", "SK", "America/Regina"),
            ("709", "NL", "America/St_Johns"),
            ("787", "PR", "America/Puerto_Rico"),
        ];
        for (code, state, zone) in cases {
            assert_eq!(area_code_state(code), Some(state), "{code}");
            assert_eq!(area_code_time_zone(code), Some(zone), "{code}");
        }
    }

    #[test]
    fn unknown_and_non_geographic_codes_have_no_place() {
        for code in [
            "800", "888", "900", "555", "242", "876", "000", "21", "2125", "",
        ] {
            assert_eq!(area_code_state(code), None, "{code}");
            assert_eq!(area_code_time_zone(code), None, "{code}");
        }
    }

    #[test]
    fn table_has_one_row_per_code_and_each_is_dialable() {
        let mut seen = HashSet::new();
        for (code, _, _) in AREA_CODES {
            assert!(seen.insert(code), "{code} is listed twice");
            let number = PhoneNumber::parse(&format!("+1{code}2345678"))
                .unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(number.nanp_area_code(), Some(*code));
        }
    }

    #[test]
    fn covers_every_state_and_province() {
        let states: HashSet<&str> = AREA_CODES.iter().map(|(_, state, _)| *state).collect();
        let expected = [
            "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL",
            "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE",
            "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD",
            "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "AB", "BC", "MB", "NB", "NL",
            "NS", "ON", "QC", "SK", "NT",
        ];
        for state in expected {
            assert!(states.contains(state), "no area code for {state}");
        }
    }

    #[test]
    fn zones_are_spelled_as_iana_names() {
        let known = [
            ET,
            CT,
            MT,
            PT,
            AZ,
            DETROIT,
            INDIANA,
            BOISE,
            "America/Anchorage",
            "Pacific/Honolulu",
            "America/Puerto_Rico",
            "America/St_Thomas",
            "Pacific/Guam",
            "Pacific/Saipan",
            "Pacific/Pago_Pago",
            "America/Edmonton",
            "America/Vancouver",
            "America/Winnipeg",
            "America/Moncton",
            "America/St_Johns",
            "America/Halifax",
            "America/Toronto",
            "America/Regina",
        ];
        for (code, _, zone) in AREA_CODES {
            assert!(known.contains(zone), "{code} has unexpected zone {zone}");
        }
    }
}
