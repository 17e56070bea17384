package io.quarry.bus.amqp;

/** The broker did not take a message of a batch that had to go out whole. */
public class PublishFailedException extends RuntimeException {
  public PublishFailedException(String reason) {
    super("publish not confirmed: " + reason);
  }
}
