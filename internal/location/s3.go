package location

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	gcaws "gocloud.dev/aws"
	"gocloud.dev/blob/s3blob"
)

// s3MaxAttempts is how often one request is tried before its error is
// returned; backups run long and over networks that drop connections.
const s3MaxAttempts = 5

// authErrors are the S3 error codes that credentials rotated under a
// running client produce.
var authErrors = []string{
	"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied",
	"ExpiredToken", "InvalidToken",
}

// openS3 builds the S3 client itself, rather than through the gocloud URL
// opener, to read credentials from a file that may change, to retry the
// requests signed with keys rotated away, and to clean up uploads.
func openS3(ctx context.Context, t *target, opts Options) (*opened, error) {
	q := url.Values{}
	for k, v := range t.query {
		q[k] = v
	}
	var clientOpts []func(*s3.Options)
	for _, name := range []string{"use_path_style", "disable_https", "accelerate"} {
		v, err := takeBool(q, name)
		if err != nil {
			return nil, err
		}
		switch name {
		case "use_path_style":
			clientOpts = append(clientOpts, func(o *s3.Options) { o.UsePathStyle = v })
		case "disable_https":
			clientOpts = append(clientOpts, func(o *s3.Options) {
				o.EndpointOptions.DisableHTTPS = v
			})
		case "accelerate":
			clientOpts = append(clientOpts, func(o *s3.Options) { o.UseAccelerate = v })
		}
	}
	if ep := q.Get("endpoint"); ep != "" {
		q.Del("endpoint")
		clientOpts = append(clientOpts, func(o *s3.Options) { o.BaseEndpoint = aws.String(ep) })
	}
	bopts := &s3blob.Options{KMSEncryptionID: q.Get("kmskeyid")}
	q.Del("kmskeyid")
	if sse := q.Get("ssetype"); sse != "" {
		q.Del("ssetype")
		bopts.EncryptionType = types.ServerSideEncryption(sse)
	}

	var creds *fileCredentials
	if opts.CredentialsFile != "" {
		profile := q.Get("profile")
		q.Del("profile")
		creds = newFileCredentials(opts.CredentialsFile, profile)
		if _, err := creds.Retrieve(ctx); err != nil {
			return nil, err
		}
	}
	cfg, err := gcaws.V2ConfigFromURLParams(ctx, q)
	if err != nil {
		return nil, err
	}
	if creds != nil {
		cfg.Credentials = creds
	}
	if cfg.Region == "" {
		// S3-compatible stores mostly ignore the region but the signature
		// needs one.
		cfg.Region = "us-east-1"
	}
	cfg.Retryer = func() aws.Retryer { return newS3Retryer(creds) }
	bopts.RequestChecksumCalculation = cfg.RequestChecksumCalculation

	// The SDK warns on every read of a multipart object, whose checksum it
	// cannot check; cairn checks archives itself.
	clientOpts = append(clientOpts, func(o *s3.Options) {
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	client := s3.NewFromConfig(cfg, clientOpts...)
	b, err := s3blob.OpenBucket(ctx, client, t.bucket, bopts)
	if err != nil {
		return nil, err
	}
	cleanup := func(ctx context.Context, key string) error {
		return abortUploads(ctx, client, t.bucket, key)
	}
	return &opened{bucket: b, cleanup: cleanup}, nil
}

func takeBool(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	q.Del(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("option %s=%q: want true or false", name, v)
	}
	return b, nil
}

// newS3Retryer is the SDK's standard retryer with more attempts and no
// client-side retry quota, which would fail a long backup after a burst of
// errors. With a credentials file, an authentication error right after the
// file changed is retried: the retry is signed with the new keys.
func newS3Retryer(creds *fileCredentials) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = s3MaxAttempts
		o.RateLimiter = ratelimit.None
		if creds == nil {
			return
		}
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(
			func(err error) aws.Ternary {
				var api smithy.APIError
				if errors.As(err, &api) && isAuthError(api.ErrorCode()) &&
					creds.recentlyRotated() {
					return aws.TrueTernary
				}
				return aws.UnknownTernary
			}))
	})
}

func isAuthError(code string) bool {
	for _, c := range authErrors {
		if strings.EqualFold(code, c) {
			return true
		}
	}
	return false
}

// abortUploads drops the unfinished multipart uploads of key. Keys of
// cairn's objects name their run, so no other writer's upload is touched.
func abortUploads(ctx context.Context, client *s3.Client, bucket, key string) error {
	out, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{
		Bucket: aws.String(bucket),
		Prefix: aws.String(key),
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range out.Uploads {
		if aws.ToString(u.Key) != key {
			continue
		}
		_, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket:   aws.String(bucket),
			Key:      u.Key,
			UploadId: u.UploadId,
		})
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
