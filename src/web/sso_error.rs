//! Why a sign-in or a confirmation through the provider of `[sso]` did not happen: one
//! sentence for the page (never the provider's words, never a secret), a word for the audit.

/// Why a sign-in through the provider did not happen; each reads as one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsoError {
    /// Discovery, keys or the token endpoint could not be reached or read.
    ProviderDown,
    /// The provider refused our client id or secret.
    ClientRefused,
    /// No sign-in was started from this browser with that state, or it expired or was used.
    WrongState,
    /// The provider refused the code (used already, expired, or not ours).
    CodeRefused,
    /// The ID token failed verification (signature, issuer, audience, expiry, nonce).
    TokenRefused,
    /// The provider answered without an email.
    NoEmail,
    /// The provider does not say the email is verified.
    Unverified,
    /// Nobody with that email may sign in here.
    UnknownPerson,
    /// The person declined, or the provider ended the sign-in with an error.
    Declined,
    /// Too many sign-ins in progress.
    Busy,
    /// The provider's ID token confirms no second factor that `acr_values`/`amr` accept.
    NoSecondFactor,
    /// A confirmation whose ID token does not show a sign-in at the provider just now.
    NotFresh,
    /// A confirmation signed in at the provider as someone other than this session's person.
    SomeoneElse,
}

impl SsoError {
    /// The sentence shown on the sign-in page: no secret, no provider text.
    pub fn sentence(&self) -> &'static str {
        match self {
            SsoError::ProviderDown => {
                "The sign-in provider cannot be reached right now; try again in a moment, or ask an operator."
            }
            SsoError::ClientRefused => {
                "The sign-in provider refused this dashboard's credentials; an operator must check client_id and client_secret in [sso]."
            }
            SsoError::WrongState => {
                "This sign-in was not started in this browser, was already used, or took too long; start again."
            }
            SsoError::CodeRefused => {
                "The sign-in provider did not accept this sign-in (it was already used or took too long); start again."
            }
            SsoError::TokenRefused => {
                "The sign-in provider's answer did not pass verification, so it was refused; start again, or ask an operator."
            }
            SsoError::NoEmail => {
                "The sign-in provider did not say who you are by email; an operator must ask for the email scope in [sso]."
            }
            SsoError::Unverified => {
                "The sign-in provider has not verified your email address, so it cannot sign you in here."
            }
            SsoError::UnknownPerson => {
                "Nobody with your email may sign in to this dashboard; ask an admin for access."
            }
            SsoError::Declined => {
                "The sign-in provider did not sign you in; start again if you meant to."
            }
            SsoError::Busy => "Too many sign-ins are in progress; try again in a moment.",
            SsoError::NoSecondFactor => {
                "The sign-in provider did not confirm a second factor, so it cannot sign you in here."
            }
            SsoError::NotFresh => {
                "The sign-in provider did not ask for your password again just now, so nothing was confirmed; try again."
            }
            SsoError::SomeoneElse => {
                "You signed in at the provider as someone else, so nothing was confirmed."
            }
        }
    }

    /// A short word for the audit trail and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            SsoError::ProviderDown => "provider unreachable",
            SsoError::ClientRefused => "client refused",
            SsoError::WrongState => "wrong state",
            SsoError::CodeRefused => "code refused",
            SsoError::TokenRefused => "id token refused",
            SsoError::NoEmail => "no email",
            SsoError::Unverified => "email not verified",
            SsoError::UnknownPerson => "unknown person",
            SsoError::Declined => "declined",
            SsoError::Busy => "busy",
            SsoError::NoSecondFactor => "no second factor",
            SsoError::NotFresh => "sign-in not fresh",
            SsoError::SomeoneElse => "someone else",
        }
    }
}
