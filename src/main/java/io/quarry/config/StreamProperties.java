package io.quarry.config;

import io.quarry.config.validation.QuartzCron;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.Pattern;
import java.util.List;

/**
 * One mined stream. A new stream is a new entry under {@code quarry.streams}, not new code.
 *
 * @param schedule 6-field Quartz cron (with seconds) of the stream's scheduler tick
 * @param apiPath path template of a page, relative to the platform base URL; {@code {userId}} is
 *     replaced by the user's external id
 * @param pageSize items requested per page ({@code limit})
 * @param pagesPerMessage pages fetched inside one message before a continuation is published
 * @param parser whether raw batches pass through a {@code <stream>-parser-queue} before the topic
 * @param subscribers subscribers of the stream's data topic, one queue each
 * @param requestsPerSecond most platform API calls per second for this stream on one instance (0:
 *     no limit), so a large tenant cannot exhaust the platform quota
 */
public record StreamProperties(
    @QuartzCron String schedule,
    @NotBlank @Pattern(regexp = "/.*", message = "must start with '/'") String apiPath,
    @Min(1) @Max(1000) int pageSize,
    @Min(1) @Max(1000) int pagesPerMessage,
    boolean parser,
    @NotEmpty List<@Pattern(regexp = "[a-z][a-z0-9-]{0,31}") String> subscribers,
    @Min(0) @Max(100_000) int requestsPerSecond) {}
