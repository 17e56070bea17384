package io.quarry.bus;

/** The broker holds a queue or exchange of the same name but with other settings. */
public class TopologyMismatchException extends RuntimeException {

  public TopologyMismatchException(String message, Throwable cause) {
    super(message, cause);
  }
}
