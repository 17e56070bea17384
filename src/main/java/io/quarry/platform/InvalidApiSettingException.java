package io.quarry.platform;

/**
 * A stream's API settings cannot work: a JSON Pointer that does not parse, a pagination style
 * without a setting it needs. {@link #key()} names the setting relative to the stream (e.g. {@code
 * pagination.next-url-path}), so start-up validation can report it as {@code
 * quarry.streams.<stream>.<key>}.
 */
public final class InvalidApiSettingException extends IllegalArgumentException {

  private final String key;
  private final String reason;

  public InvalidApiSettingException(String key, String reason) {
    super(key + " " + reason);
    this.key = key;
    this.reason = reason;
  }

  /** The setting, kebab-case, relative to the stream ({@code items.id-path}). */
  public String key() {
    return key;
  }

  /** What is wrong with it, e.g. {@code is required by pagination style next-url}. */
  public String reason() {
    return reason;
  }
}
