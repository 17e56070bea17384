package io.quarry.bus.amqp;

import org.springframework.amqp.core.Message;

/**
 * A message that names its own destination: an element of a {@code quarry-amqp} body that goes
 * elsewhere than the endpoint's exchange and routing key (a dead letter to its queue's {@code
 * .dlq}, an outbox event under its own routing key).
 */
public record Routed(String exchange, String routingKey, Message message) {}
