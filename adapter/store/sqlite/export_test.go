package sqlite

// ClaimOutboxQuery is the claim's statement, for its query plan.
const ClaimOutboxQuery = claimOutbox
