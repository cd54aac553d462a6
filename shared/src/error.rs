//! Every failure a request can meet, each with its status and `error_code`.
//! The messages are written for the client: they never carry a password, a
//! hash, a token or a store's own error text.

use crate::store::error::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("The request body is not valid JSON")]
    InvalidJson,
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    WeakPassword(&'static str),
    #[error("orgRole must be one of 0, 1, 2, 254, 255")]
    InvalidRole,
    #[error("currentPassword is required to set a new password")]
    CurrentPasswordRequired,
    #[error("Authentication required")]
    NoAuthUser,
    #[error("Invalid access token")]
    InvalidToken,
    #[error("Access token expired")]
    TokenExpired,
    #[error("Invalid email or password")]
    InvalidCredentials,
    #[error("The session has ended; sign in again")]
    SessionRevoked,
    #[error("Invalid refresh token")]
    InvalidRefreshToken,
    #[error("Refresh token reuse detected; the session has been revoked")]
    RefreshTokenReused,
    #[error("Refresh token was already rotated; use its successor")]
    RefreshTokenAlreadyRotated,
    #[error("Invalid or expired verification token")]
    InvalidVerificationToken,
    #[error("Invalid or expired reset token")]
    InvalidResetToken,
    #[error("User account is inactive")]
    UserInactive,
    #[error("Email address not verified")]
    EmailNotVerified,
    #[error("Insufficient permissions")]
    InsufficientPermissions,
    #[error("User has no organization")]
    NoOrganization,
    #[error("User not found")]
    UserNotFound,
    #[error("Session not found")]
    SessionNotFound,
    #[error("No active subscription")]
    NoActiveSubscription,
    #[error("Not found")]
    NotFound,
    #[error("Method not allowed")]
    MethodNotAllowed,
    #[error("Email already registered")]
    EmailAlreadyRegistered,
    /// A social sign-in for an address an account already has: never
    /// linked automatically (the owner signs in and links).
    #[error("An account already exists for this email; sign in and link the provider")]
    AccountExists,
    #[error("An organization must keep at least one owner")]
    LastOwner,
    #[error("The resource was changed by another request; try again")]
    Conflict,
    #[error("Request body too large")]
    PayloadTooLarge,
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// A pending sign-in's token where a full one is needed, or an MFA
    /// change without a fresh proof.
    #[error("Multi-factor authentication required")]
    MfaRequired,
    #[error("Invalid MFA code")]
    InvalidMfaCode,
    #[error("This MFA method is not set up")]
    MfaNotSetUp,
    #[error("The organization requires MFA: its last method cannot be turned off")]
    MfaEnforced,
    #[error("Too many failed attempts; try again later")]
    TooManyAttempts { retry_after_seconds: u64 },
    /// The detail is for the log only.
    #[error("Internal error")]
    Internal(String),
    #[error("Service temporarily unavailable; try again shortly")]
    Unavailable { retry_after_seconds: u64 },
}

impl Error {
    pub fn status(&self) -> u16 {
        use Error::*;
        match self {
            InvalidJson
            | Validation(_)
            | WeakPassword(_)
            | InvalidRole
            | CurrentPasswordRequired
            | InvalidVerificationToken
            | InvalidResetToken
            | InvalidMfaCode
            | MfaNotSetUp => 400,
            NoAuthUser
            | InvalidToken
            | TokenExpired
            | SessionRevoked
            | InvalidCredentials
            | InvalidRefreshToken
            | RefreshTokenReused
            | RefreshTokenAlreadyRotated => 401,
            UserInactive
            | EmailNotVerified
            | InsufficientPermissions
            | NoOrganization
            | MfaRequired => 403,
            UserNotFound | SessionNotFound | NoActiveSubscription | NotFound => 404,
            MethodNotAllowed => 405,
            EmailAlreadyRegistered | AccountExists | LastOwner | Conflict | MfaEnforced => 409,
            PayloadTooLarge => 413,
            UnsupportedMediaType => 415,
            TooManyAttempts { .. } => 429,
            Internal(_) => 500,
            Unavailable { .. } => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        use Error::*;
        match self {
            InvalidJson => "INVALID_JSON",
            Validation(_) => "VALIDATION_ERROR",
            WeakPassword(_) => "WEAK_PASSWORD",
            InvalidRole => "INVALID_ROLE",
            CurrentPasswordRequired => "CURRENT_PASSWORD_REQUIRED",
            NoAuthUser => "NO_AUTH_USER",
            InvalidToken => "INVALID_TOKEN",
            TokenExpired => "TOKEN_EXPIRED",
            SessionRevoked => "SESSION_REVOKED",
            InvalidCredentials => "INVALID_CREDENTIALS",
            InvalidRefreshToken => "INVALID_REFRESH_TOKEN",
            RefreshTokenReused => "REFRESH_TOKEN_REUSED",
            RefreshTokenAlreadyRotated => "REFRESH_TOKEN_ALREADY_ROTATED",
            InvalidVerificationToken => "INVALID_VERIFICATION_TOKEN",
            InvalidResetToken => "INVALID_RESET_TOKEN",
            UserInactive => "USER_INACTIVE",
            EmailNotVerified => "EMAIL_NOT_VERIFIED",
            InsufficientPermissions => "INSUFFICIENT_PERMISSIONS",
            NoOrganization => "NO_ORGANIZATION",
            UserNotFound => "USER_NOT_FOUND",
            SessionNotFound => "SESSION_NOT_FOUND",
            NoActiveSubscription => "NO_ACTIVE_SUBSCRIPTION",
            NotFound => "NOT_FOUND",
            MethodNotAllowed => "METHOD_NOT_ALLOWED",
            EmailAlreadyRegistered => "EMAIL_ALREADY_REGISTERED",
            AccountExists => "ACCOUNT_EXISTS",
            LastOwner => "LAST_OWNER",
            Conflict => "CONFLICT",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            MfaRequired => "MFA_REQUIRED",
            InvalidMfaCode => "INVALID_MFA_CODE",
            MfaNotSetUp => "MFA_NOT_SET_UP",
            MfaEnforced => "MFA_ENFORCED",
            TooManyAttempts { .. } => "TOO_MANY_ATTEMPTS",
            Internal(_) => "INTERNAL_ERROR",
            Unavailable { .. } => "SERVICE_UNAVAILABLE",
        }
    }

    /// Seconds for a `Retry-After` header, where the status calls for one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::TooManyAttempts {
                retry_after_seconds,
            }
            | Error::Unavailable {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    pub fn validation(message: impl Into<String>) -> Error {
        Error::Validation(message.into())
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Error {
        match err {
            StoreError::EmailTaken => Error::EmailAlreadyRegistered,
            StoreError::Conflict => Error::Conflict,
            StoreError::LastOwner => Error::LastOwner,
            StoreError::MfaEnforced => Error::MfaEnforced,
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "store unavailable");
                Error::Unavailable {
                    retry_after_seconds: 1,
                }
            }
            StoreError::Internal(detail) => Error::Internal(detail),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
