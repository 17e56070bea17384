package io.quarry.message;

/** A message that can never be processed (bad JSON, missing or wrong fields): dead-letter it. */
public class InvalidMessageException extends RuntimeException {
  public InvalidMessageException(String reason) {
    super(reason);
  }
}
