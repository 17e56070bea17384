package io.quarry.platform;

/** Where {@link PlatformClient} puts the user's access token. */
public enum TokenPlacement {
  /** {@code Authorization: Bearer <token>}. */
  HEADER,
  /** A query parameter named by {@link PlatformClient.Settings#tokenParameter()}. */
  QUERY
}
