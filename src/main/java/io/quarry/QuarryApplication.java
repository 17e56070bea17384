package io.quarry;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** Quarry: scheduled, per-user mining of platform APIs over RabbitMQ into PostgreSQL. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class QuarryApplication {
  public static void main(String[] args) {
    SpringApplication.run(QuarryApplication.class, args);
  }
}
