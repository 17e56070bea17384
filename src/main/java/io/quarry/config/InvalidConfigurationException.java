package io.quarry.config;

/** A configuration value that passed binding but cannot be used; names the key at fault. */
public class InvalidConfigurationException extends RuntimeException {

  private final String key;
  private final String reason;

  public InvalidConfigurationException(String key, String reason) {
    super(key + " " + reason);
    this.key = key;
    this.reason = reason;
  }

  public String key() {
    return key;
  }

  public String reason() {
    return reason;
  }
}
