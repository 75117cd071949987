<?php
/*
 * The AWS service provider, as AWS publishes it: entity urn:amazon:webservices, assertions posted to the
 * sign-in URL, attributes named by URI (AWS matches the names exactly).
 */

$metadata['urn:amazon:webservices'] = [
    'entityid' => 'urn:amazon:webservices',
    'AssertionConsumerService' => [
        [
            'Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
            'Location' => 'https://signin.aws.amazon.com/saml',
            'index' => 1,
            'isDefault' => true,
        ],
    ],
    'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
];
