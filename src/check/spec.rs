//! Spec references: short ids such as `OIDC-Core-3.1.3.7` or `RFC9068-2.2`,
//! shown as `OIDC Core §3.1.3.7` with a link.

/// Human form of a spec id.
pub fn title(id: &str) -> String {
    for (prefix, name, _) in DOCS {
        if let Some(sec) = id.strip_prefix(prefix) {
            let sec = sec.trim_start_matches('-');
            return if sec.is_empty() {
                (*name).to_owned()
            } else {
                format!("{name} §{sec}")
            };
        }
    }
    id.to_owned()
}

/// Link to a spec id's section (or its document when the section has no anchor).
pub fn url(id: &str) -> Option<String> {
    for (prefix, _, base) in DOCS {
        if let Some(sec) = id.strip_prefix(prefix) {
            let sec = sec.trim_start_matches('-');
            if base.is_empty() {
                return None;
            }
            if sec.is_empty() {
                return Some((*base).to_owned());
            }
            if prefix.starts_with("RFC") {
                return Some(format!("{base}#section-{sec}"));
            }
            if let Some((_, anchor)) = ANCHORS.iter().find(|(p, _)| *p == id) {
                return Some(format!("{base}#{anchor}"));
            }
            return Some((*base).to_owned());
        }
    }
    None
}

const DOCS: &[(&str, &str, &str)] = &[
    ("OIDC-Core", "OIDC Core", "https://openid.net/specs/openid-connect-core-1_0.html"),
    (
        "OIDC-Discovery",
        "OIDC Discovery",
        "https://openid.net/specs/openid-connect-discovery-1_0.html",
    ),
    (
        "OAuth-FormPost",
        "OAuth 2.0 Form Post Response Mode",
        "https://openid.net/specs/oauth-v2-form-post-response-mode-1_0.html",
    ),
    (
        "OAuth-MultipleResponseTypes",
        "OAuth 2.0 Multiple Response Type Encoding Practices",
        "https://openid.net/specs/oauth-v2-multiple-response-types-1_0.html",
    ),
    ("RFC6749", "RFC 6749", "https://www.rfc-editor.org/rfc/rfc6749"),
    ("RFC6750", "RFC 6750", "https://www.rfc-editor.org/rfc/rfc6750"),
    ("RFC7517", "RFC 7517", "https://www.rfc-editor.org/rfc/rfc7517"),
    ("RFC7518", "RFC 7518", "https://www.rfc-editor.org/rfc/rfc7518"),
    ("RFC7519", "RFC 7519", "https://www.rfc-editor.org/rfc/rfc7519"),
    ("RFC7591", "RFC 7591", "https://www.rfc-editor.org/rfc/rfc7591"),
    ("RFC7009", "RFC 7009", "https://www.rfc-editor.org/rfc/rfc7009"),
    ("RFC7662", "RFC 7662", "https://www.rfc-editor.org/rfc/rfc7662"),
    ("RFC9126", "RFC 9126", "https://www.rfc-editor.org/rfc/rfc9126"),
    ("RFC7521", "RFC 7521", "https://www.rfc-editor.org/rfc/rfc7521"),
    ("RFC7523", "RFC 7523", "https://www.rfc-editor.org/rfc/rfc7523"),
    ("RFC7636", "RFC 7636", "https://www.rfc-editor.org/rfc/rfc7636"),
    ("RFC8707", "RFC 8707", "https://www.rfc-editor.org/rfc/rfc8707"),
    ("RFC8628", "RFC 8628", "https://www.rfc-editor.org/rfc/rfc8628"),
    ("RFC8725", "RFC 8725", "https://www.rfc-editor.org/rfc/rfc8725"),
    ("RFC9068", "RFC 9068", "https://www.rfc-editor.org/rfc/rfc9068"),
    ("RFC9207", "RFC 9207", "https://www.rfc-editor.org/rfc/rfc9207"),
    ("RFC9449", "RFC 9449", "https://www.rfc-editor.org/rfc/rfc9449"),
    ("RFC9700", "RFC 9700", "https://www.rfc-editor.org/rfc/rfc9700"),
    (
        "OIDC-Registration",
        "OIDC Dynamic Registration",
        "https://openid.net/specs/openid-connect-registration-1_0.html",
    ),
    (
        "OIDC-RPInitiated",
        "OIDC RP-Initiated Logout",
        "https://openid.net/specs/openid-connect-rpinitiated-1_0.html",
    ),
    (
        "OIDC-BackChannel",
        "OIDC Back-Channel Logout",
        "https://openid.net/specs/openid-connect-backchannel-1_0.html",
    ),
    (
        "OIDC-FrontChannel",
        "OIDC Front-Channel Logout",
        "https://openid.net/specs/openid-connect-frontchannel-1_0.html",
    ),
    (
        "OIDC-Session",
        "OIDC Session Management",
        "https://openid.net/specs/openid-connect-session-1_0.html",
    ),
    ("Brief", "Product brief", ""),
];

/// Named anchors of the OpenID specs (they have no numbered ones).
const ANCHORS: &[(&str, &str)] = &[
    ("OIDC-Core-2", "IDToken"),
    ("OIDC-Registration-2", "ClientMetadata"),
    ("OIDC-Registration-3.3", "RegistrationError"),
    ("OIDC-Core-3.1.2.1", "AuthRequest"),
    ("OIDC-Core-3.1.2.4", "Consent"),
    ("OIDC-Core-3.1.2.6", "AuthError"),
    ("OIDC-Core-3.1.3.3", "TokenResponse"),
    ("OIDC-Core-3.1.3.6", "CodeIDToken"),
    ("OIDC-Core-3.1.3.7", "IDTokenValidation"),
    ("OIDC-Core-3.1.3.8", "CodeFlowTokenValidation"),
    ("OIDC-Core-3.2.2.1", "ImplicitAuthRequest"),
    ("OIDC-Core-3.2.2.9", "ImplicitTokenValidation"),
    ("OIDC-Core-3.2.2.10", "ImplicitIDToken"),
    ("OIDC-Core-3.2.2.11", "ImplicitIDTValidation"),
    ("OIDC-Core-3.3.2.11", "HybridIDToken"),
    ("OIDC-Core-3.3.2.12", "HybridIDTValidation"),
    ("OIDC-Core-5.1", "StandardClaims"),
    ("OIDC-Core-5.1.2", "AdditionalClaims"),
    ("OIDC-Core-5.2", "ClaimsLanguagesAndScripts"),
    ("OIDC-Core-5.3", "UserInfo"),
    ("OIDC-Core-5.3.1", "UserInfoRequest"),
    ("OIDC-Core-5.3.2", "UserInfoResponse"),
    ("OIDC-Core-5.4", "ScopeClaims"),
    ("OIDC-Core-5.5", "ClaimsParameter"),
    ("OIDC-Core-6.1", "RequestObject"),
    ("OIDC-Core-6.2", "RequestUriParameter"),
    ("OIDC-Core-6.3.2", "SignedRequestObject"),
    ("OIDC-Core-9", "ClientAuthentication"),
    ("OIDC-Core-12", "RefreshTokens"),
    ("OIDC-Core-12.2", "RefreshTokenResponse"),
    ("OIDC-Core-16.14", "NonceNotes"),
    ("OIDC-Discovery-3", "ProviderMetadata"),
    ("OIDC-Discovery-4.3", "ProviderConfigurationValidation"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_and_links() {
        assert_eq!(title("OIDC-Core-3.1.3.7"), "OIDC Core §3.1.3.7");
        assert_eq!(
            url("OIDC-Core-3.1.3.7").unwrap(),
            "https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation"
        );
        assert_eq!(url("RFC9068-2.2").unwrap(), "https://www.rfc-editor.org/rfc/rfc9068#section-2.2");
        assert_eq!(title("RFC8628-3.5"), "RFC 8628 §3.5");
        assert_eq!(url("RFC8628-3.5").unwrap(), "https://www.rfc-editor.org/rfc/rfc8628#section-3.5");
        assert_eq!(title("whatever"), "whatever");
        assert_eq!(url("whatever"), None);
    }
}
