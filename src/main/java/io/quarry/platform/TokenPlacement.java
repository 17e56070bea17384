package io.quarry.platform;

/** Where {@link PlatformClient} puts the user's access token ({@link Authentication}). */
public enum TokenPlacement {
  /** A header: {@code Authorization: Bearer <token>} unless a stream names another. */
  HEADER,
  /**
   * A query parameter: {@link PlatformClient.Settings#tokenParameter()} unless a stream names
   * another.
   */
  QUERY
}
