package io.quarry.routes.delivery;

import io.quarry.config.QuarryProperties;
import io.quarry.notification.EmailDelivery;
import io.quarry.notification.EmailRepository;
import io.quarry.notification.MailEndpoint;
import jakarta.mail.MessagingException;
import org.apache.camel.LoggingLevel;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * Delivers pending mail over SMTP: claims a batch of mail that is due ({@code FOR UPDATE SKIP
 * LOCKED}, so several instances share the work), sends each mail on its own and marks it sent, or
 * records the failure by what the server replied (EmailDelivery): a 5xx is final, a 4xx is tried
 * again with backoff, and while the server cannot be reached the mail waits without losing an
 * attempt and the rest of the batch is postponed untried.
 */
@Component
public class EmailSenderRoutes extends RouteBuilder {

  public static final String SEND = "direct:email-sender";

  private final QuarryProperties properties;
  private final MailEndpoint mail;

  public EmailSenderRoutes(QuarryProperties properties, MailEndpoint mail) {
    this.properties = properties;
    this.mail = mail;
  }

  @Override
  public void configure() {
    from("timer:email-sender?period={{quarry.notification.sender-interval}}")
        .routeId("email-sender-poll")
        .to(SEND);

    // @formatter:off
    from(SEND)
        .routeId("email-sender")
        .setBody(constant(properties.notification().senderBatchSize()))
        .bean(EmailRepository.class, "claimPending").id("email-claim")
        .split(body())
          .setHeader(EmailDelivery.EMAIL_ID, simple("${body.id}"))
          .choice()
            .when(method(EmailDelivery.class, "serverUnreachable"))
              .bean(EmailDelivery.class, "postpone").id("email-postpone")
            .otherwise()
              .doTry()
                .removeHeaders("*", EmailDelivery.EMAIL_ID)
                .setHeader("To", simple("${body.recipient}"))
                .setHeader("Subject", simple("${body.subject}"))
                .setHeader("Content-Type", constant("text/plain; charset=UTF-8"))
                .setBody(simple("${body.body}"))
                .to(mail.uri()).id("email-smtp")
                .bean(EmailDelivery.class, "sent").id("email-sent")
              .doCatch(MessagingException.class)
                .bean(EmailDelivery.class, "failed").id("email-failed")
                .log(LoggingLevel.DEBUG, "Email ${header." + EmailDelivery.EMAIL_ID + "}: ${body}")
              .end()
          .end()
        .end();
    // @formatter:on
  }
}
