"""Stable error codes of the listing actions (clients switch on these, messages are translated)."""

LISTING_INVALID = "listing_invalid"
LISTING_REF_TAKEN = "listing_ref_taken"
PHOTO_TOO_LARGE = "photo_too_large"
PHOTO_NOT_AN_IMAGE = "photo_not_an_image"
TOO_MANY_PHOTOS = "too_many_photos"
INTRODUCTION_INVALID = "introduction_invalid"
FEED_MISSING = "listings_feed_missing"
